"""A media filter as SQL: what an item must meet, and the indexes that can list candidates.

``hit`` is the filter checked on one item row (alias ``x``, carrying the columns ``columns``
names), each condition an index probe: its leaf in the root, its tags, labels and metadata
by the item's key. ``drivers`` are the filter's conditions that an index can list on its own
(a kind, a tag, a label, a cluster, a metadata value or range, a file-name substring of
three or more characters), each a query of (leaf, media_id) rows that holds every matching item of
any version, and maybe items of other versions or that fail other conditions. The planner
(``media_search``) counts a few of each and picks how to search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.views.sql import Dialect
from projections.media_index import FIELD_LIMIT, FieldFilter, MediaFilter, as_number, index_text

TRIGRAM = 3  # the shortest substring a trigram index can look up


@dataclass(frozen=True)
class Driver:
    """Candidate items for a search, as (leaf, media_id) rows from one index."""

    name: str
    rows: str
    params: tuple[Any, ...]
    # Rows as many as ``rows`` or more (duplicates allowed), cheaper to count: the plan
    # only needs to know whether a driver is small.
    estimate: tuple[str, tuple[Any, ...]] | None = None
    # ``rows`` are whole item rows (``SELECT *`` of items): no join needed to read them.
    whole: bool = False

    @property
    def counted(self) -> tuple[str, tuple[Any, ...]]:
        return self.estimate or (self.rows, self.params)


def columns(where: MediaFilter) -> list[str]:
    """The item columns ``hit`` reads besides leaf and media id."""
    wanted = [
        ("kind", where.kind),
        ("cluster_id", where.cluster_id),
        ("name_key", where.name_contains),
    ]
    return [column for column, value in wanted if value]


def hit(
    where: MediaFilter, root: str, dialect: Dialect, *, in_root: bool = False, per_row: bool = True
) -> tuple[str, list[Any]]:
    """SQL true for an item row ``x`` of the root that meets ``where``, and its parameters;
    ``in_root`` when the rows are known to be the root's already (``in_root_only``).

    The item's own columns are tested first: SQLite stops at the first false term, and a
    column costs nothing next to the probes of other tables that follow. Each probe is an
    index lookup per row checked, ``per_row`` (see ``_probe``)."""
    sql: list[str] = []
    params: list[Any] = []
    if where.kind is not None:
        sql.append("x.kind = ?")
        params.append(where.kind)
    if where.cluster_id:
        sql.append("x.cluster_id = ?")
        params.append(index_text(where.cluster_id))
    if where.name_contains:
        sql.append("x.name_key LIKE ? ESCAPE '\\'")
        params.append(f"%{_like_escaped(where.name_contains.lower())}%")
    if not in_root:
        sql.append(root_probe("x", dialect, per_row=per_row))
        params.append(root)
    for tag in where.tags:
        sql.append(
            _probe(
                "SELECT 1 FROM {t}item_tags g WHERE g.leaf = x.leaf "
                "AND g.media_id = x.media_id AND g.tag = ?",
                dialect,
                per_row=per_row,
            )
        )
        params.append(index_text(tag))
    if where.label is not None:
        sql.append(
            _probe(
                "SELECT 1 FROM {t}item_labels c WHERE c.leaf = x.leaf "
                "AND c.media_id = x.media_id AND c.class_name = ?",
                dialect,
                per_row=per_row,
            )
        )
        params.append(index_text(where.label))
    for field in where.fields:
        value_sql, value_params = field_values(field, "m", probe=dialect == "sqlite")
        sql.append(
            _probe(
                "SELECT 1 FROM {t}item_metadata m WHERE m.field = ? AND m.leaf = x.leaf "
                f"AND m.media_id = x.media_id AND {value_sql}",
                dialect,
                per_row=per_row,
            )
        )
        params += [index_text(field.field, FIELD_LIMIT), *value_params]
    return " AND ".join(sql) or "1 = 1", params


def _probe(rows: str, dialect: Dialect, *, per_row: bool = True) -> str:
    """EXISTS over ``rows``; ``per_row``: run as one index lookup per row checked.
    PostgreSQL would rather hash the whole subquery once (every item with the tag, every
    leaf of the root) when it expects many rows to be checked, which costs time linear in
    the index: right when the rows checked are a whole driver's candidates (the sort plan),
    wrong when they are a bounded walk or count. An EXISTS with an OFFSET is never hashed."""
    return f"EXISTS ({rows}{' OFFSET 0' if per_row and dialect == 'postgres' else ''})"


def root_probe(alias: str, dialect: Dialect, *, per_row: bool = True) -> str:
    """SQL true for a row ``alias`` whose leaf is in the root (one parameter)."""
    return _probe(
        f"SELECT 1 FROM {{t}}root_leaves rl WHERE rl.root = ? AND rl.leaf = {alias}.leaf",
        dialect,
        per_row=per_row,
    )


def in_root_only(rows: str, dialect: Dialect, *, per_row: bool = True) -> str:
    """``rows`` (leaf, media_id) kept to those of the root (one parameter, after the rows'
    own): checked on the leaf before anything else reads the item. In CASE, so that
    PostgreSQL keeps it a probe rather than a join it misjudges."""
    probe = root_probe("d0", dialect, per_row=per_row)
    return (
        f"SELECT d0.leaf, d0.media_id FROM ({rows}) d0 "
        f"WHERE CASE WHEN {probe} THEN 1 ELSE 0 END = 1"
    )


def drivers(where: MediaFilter, dialect: Dialect) -> list[Driver]:
    found = [
        Driver(
            f"tag {tag}",
            "SELECT leaf, media_id FROM {t}item_tags WHERE tag = ?",
            (index_text(tag),),
        )
        for tag in where.tags
    ]
    if where.kind is not None:
        found.append(_items_driver("kind", "kind = ?", (where.kind,)))
    if where.label is not None:
        found.append(
            Driver(
                "label",
                "SELECT leaf, media_id FROM {t}item_labels WHERE class_name = ?",
                (index_text(where.label),),
            )
        )
    if where.cluster_id:
        found.append(_items_driver("cluster", "cluster_id = ?", (index_text(where.cluster_id),)))
    found += [_field_driver(field, dialect) for field in where.fields]
    if where.name_contains and len(where.name_contains) >= TRIGRAM:
        found.append(_name_driver(where.name_contains.lower(), dialect))
    return found


def field_values(field: FieldFilter, alias: str, *, probe: bool = False) -> tuple[str, list[Any]]:
    """SQL on one metadata value row ``alias`` that meets every condition of ``field``.

    ``probe`` (SQLite) writes the value columns as ``+column``, which no index can seek:
    the row is then found by its item (``metadata_of_item``), not by scanning a range of
    values for every item checked.
    """
    sql, params = ["TRUE"], list[Any]()
    alias = f"+{alias}" if probe else alias
    if field.equals is not None:
        text, number = index_text(field.equals), as_number(field.equals)
        if number is None:
            sql.append(f"{alias}.text_value = ?")
            params.append(text)
        else:
            sql.append(f"({alias}.text_value = ? OR {alias}.num_value = ?)")
            params += [text, number]
    for bound, operator in ((field.gte, ">="), (field.lte, "<=")):
        if isinstance(bound, float):
            sql.append(f"{alias}.num_value {operator} ?")
            params.append(bound)
        elif isinstance(bound, str):
            sql.append(f"{alias}.text_value {operator} ?")
            params.append(index_text(bound))
    return " AND ".join(sql), params


def _field_driver(field: FieldFilter, dialect: Dialect) -> Driver:
    """The items with a value of the field that meets its conditions, each item once (its
    first such value), read from the (field, value) indexes."""
    name = index_text(field.field, FIELD_LIMIT)
    values, params = field_values(field, "m")
    again, again_params = field_values(field, "m2", probe=dialect == "sqlite")
    rows = (
        "SELECT m.leaf, m.media_id FROM {t}item_metadata m WHERE "
        f"{_indexed(field, 'm')} AND {values} AND NOT EXISTS (SELECT 1 FROM {{t}}item_metadata m2 "
        "WHERE m2.field = m.field AND m2.leaf = m.leaf AND m2.media_id = m.media_id "
        f"AND m2.n < m.n AND {again})"
    )
    seek = (
        "SELECT m.leaf, m.media_id FROM {t}item_metadata m WHERE "
        f"{_indexed(field, 'm')} AND {values}"
    )
    return Driver(
        f"metadata {name}",
        rows,
        (*_indexed_params(field, name), *params, *again_params),
        estimate=(seek, (*_indexed_params(field, name), *params)),
    )


def _indexed(field: FieldFilter, alias: str) -> str:
    """The part of a field condition an index on (field, value) can seek to."""
    if field.equals is not None and as_number(field.equals) is not None:
        return (
            f"(({alias}.field = ? AND {alias}.text_value = ?) "
            f"OR ({alias}.field = ? AND {alias}.num_value = ?))"
        )
    return f"{alias}.field = ?"


def _indexed_params(field: FieldFilter, name: str) -> tuple[Any, ...]:
    if field.equals is not None and (number := as_number(field.equals)) is not None:
        return (name, index_text(field.equals), name, number)
    return (name,)


def root_driver(root: str, dialect: Dialect) -> Driver:
    """Every item of the root, from its leaves. On PostgreSQL each leaf finds its items
    by itself (a LATERAL lookup with an OFFSET): it would otherwise merge-join the items
    index from its start, so counting the first items of the root indexed last read every
    item of the versions indexed before it."""
    if dialect == "sqlite":  # a nested loop from the root's leaves
        rows = (
            "SELECT i.leaf, i.media_id FROM {t}root_leaves rl JOIN {t}items i "
            "ON i.leaf = rl.leaf WHERE rl.root = ?"
        )
    else:
        rows = (
            "SELECT i.leaf, i.media_id FROM {t}root_leaves rl CROSS JOIN LATERAL "
            "(SELECT i.leaf, i.media_id FROM {t}items i WHERE i.leaf = rl.leaf OFFSET 0) i "
            "WHERE rl.root = ?"
        )
    return Driver("root", rows, (root,))


def _name_driver(text: str, dialect: Dialect) -> Driver:
    if dialect == "sqlite":  # the FTS5 trigram table beside the items
        phrase = '"' + text.replace('"', '""') + '"'
        return Driver(
            "name", "SELECT leaf, media_id FROM {t}item_names WHERE item_names MATCH ?", (phrase,)
        )
    return _items_driver(  # PostgreSQL: the pg_trgm GIN index on items.name_key
        "name", "name_key LIKE ? ESCAPE '\\'", (f"%{_like_escaped(text)}%",)
    )


def _items_driver(name: str, condition: str, params: tuple[Any, ...]) -> Driver:
    """A driver over the items table itself: its rows are whole item rows, counted on the
    condition's index alone (leaf and media id are in every index of the table)."""
    return Driver(
        name,
        f"SELECT * FROM {{t}}items WHERE {condition}",
        params,
        estimate=(f"SELECT leaf, media_id FROM {{t}}items WHERE {condition}", params),
        whole=True,
    )


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
