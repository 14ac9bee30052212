"""The media search planner: a page of a version's items in the time of a page, at any size.

A version is a root, and the index holds the items of every version ever indexed, so the
plan never reads all of a root's items when it can avoid it. Two plans:

- **sort**: list the candidates of one small index (a driver: the root's own items, or the
  items with a tag, a label, a cluster, a metadata value or a file-name substring; see
  ``media_conditions``), keep those that meet the whole filter and sort them. Chosen when
  some driver lists at most a cap of rows (found by counting each one that far): the
  count where sorting and walking cost the same, sqrt(page x indexed items), kept within
  ``sort_at_least`` and ``sort_at_most``. Its cost is bounded by the cap; its total is exact.
- **walk**: read the sort order's own index (``items_by_<key>``) from the start or from the
  cursor, and keep the items of the root that meet the filter, until the page is full. A
  filter that matches a fraction p of the index reads about page/p rows, whatever the size.
  Empty values of the key are walked after the others (the order puts them last either
  way). If ``walk_at_most`` rows give too few hits, it falls back to the sort plan over the
  smallest driver. Its total is exact when the walk reached the end of the matches, or when
  counting hits over the smallest driver ends within ``count_at_most`` rows; otherwise it
  is the number found so far, flagged ``total_is_lower_bound``.

A cursor continues after the last item of a page (see ``projections.media_cursor``); a page
number counts pages after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from adapters.views.media_conditions import (
    Driver,
    columns,
    drivers,
    hit,
    in_root_only,
    root_driver,
)
from adapters.views.sql import Row, Sql
from projections.media_cursor import NULLABLE_KEYS, SearchCursor
from projections.media_index import MediaFilter, MediaOrder


@dataclass(frozen=True)
class SearchLimits:
    sort_at_most: int = 4000
    sort_at_least: int = 256
    walk_at_most: int = 20_000
    count_at_most: int = 1000


@dataclass(frozen=True)
class Request:
    """A page asked for: ``size`` items of the root meeting ``where`` in ``order``, after
    ``cursor`` (if any) and ``offset`` more; ``total`` when the caller knows it."""

    root: str
    where: MediaFilter
    order: MediaOrder
    offset: int
    size: int
    total: int | None
    cursor: SearchCursor | None


@dataclass(frozen=True)
class Page:
    keys: list[Row]  # leaf, media_id, file_name, sort_value
    total: int
    total_is_lower_bound: bool
    more: bool


@dataclass(frozen=True)
class _Part:
    """One run of the sort order: the items with a value for the nullable key ``key``, or
    (``empty``) those without; for a key never empty, all items (``key`` None)."""

    key: str | None
    empty: bool
    keys: tuple[str, ...]

    def condition(self, alias: str) -> str | None:
        if self.key is None:
            return None
        return f"{alias}.{self.key} IS {'NULL' if self.empty else 'NOT NULL'}"


class MediaSearch:
    def __init__(self, sql: Sql, limits: SearchLimits) -> None:
        self.sql = sql
        self.limits = limits

    def page(self, asked: Request) -> Page:
        root, where, order, cursor = asked.root, asked.where, asked.order, asked.cursor
        offset, size, total = asked.offset, asked.size, asked.total
        limits = self.limits
        best, small = self._best(root, where, self._cap(offset + size + 1), total)
        walked = None if small else self._walk(root, where, order, cursor, offset + size + 1)
        if walked is None:
            return self._sorted(best, asked)
        keys, more = walked[offset : offset + size], len(walked) > offset + size
        if total is not None:
            return Page(keys, total, False, more)
        if not more and cursor is None:
            return Page(keys, len(walked), False, more)
        if not keys:
            return Page(keys, self._hits(best, root, where, None)[0], False, more)
        hits, seen = self._hits(best, root, where, limits.count_at_most)
        if seen < limits.count_at_most:
            return Page(keys, hits, False, more)
        return Page(keys, max(hits, offset + len(keys) + int(more)), True, more)

    def count(self, root: str, where: MediaFilter) -> int:
        """Exactly how many items of the root meet ``where`` (costs as many as match)."""
        best, _ = self._best(root, where, self.limits.sort_at_most, None)
        return self._hits(best, root, where, None)[0]

    def _cap(self, need: int) -> int:
        """How many candidates are worth sorting rather than walking for ``need`` hits.

        Sorting c candidates reads c rows; walking for a filter that c of the N indexed
        items meet reads about need x N / c. They cost the same at c = sqrt(need x N).
        """
        indexed = self.sql.value("SELECT value FROM {t}counters WHERE name = 'items'")
        balance = math.isqrt(need * int(indexed or 0))
        return min(self.limits.sort_at_most, max(self.limits.sort_at_least, balance))

    def _best(
        self, root: str, where: MediaFilter, cap: int, known: int | None
    ) -> tuple[Driver, bool]:
        """The driver with the fewest candidates (counted up to ``cap`` + 1), and whether it
        has few enough to sort. The root's items are counted only when no filter's index is
        small and the known total (if any) does not already say the root is large."""
        sized = [(self._count(d, cap + 1), d) for d in drivers(where, self.sql.dialect)]
        if not any(n <= cap for n, _ in sized) and not (known is not None and known > cap):
            everything = root_driver(root, self.sql.dialect)
            sized.append((self._count(everything, cap + 1), everything))
        if not sized:  # the root is large and no filter has an index: walk
            return root_driver(root, self.sql.dialect), False
        fewest, best = min(sized, key=lambda pair: pair[0])
        return best, fewest <= cap

    def _count(self, driver: Driver, cap: int) -> int:
        rows, params = driver.counted
        return int(self.sql.value(f"SELECT COUNT(*) FROM ({rows} LIMIT ?) c", [*params, cap]))

    def _hits(
        self, driver: Driver, root: str, where: MediaFilter, limit: int | None
    ) -> tuple[int, int]:
        """How many of the driver's first ``limit`` candidates (all: None) are hits, of how
        many read."""
        bounded = limit is not None
        if columns(where):  # the driver's own rows suffice unless the filter reads the item's
            source, kept = self._joined(driver, limited=bounded)
            rows = f"SELECT x.* FROM {source}"
        else:
            rows, kept = driver.rows + (" LIMIT ?" if bounded else ""), False
        condition, params = hit(where, root, self.sql.dialect, in_root=kept, per_row=bounded)
        row = self.sql.one(
            f"SELECT COUNT(*) AS seen, COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) "
            f"AS hits FROM ({rows}) x",
            [
                *params,
                *driver.params,
                *([root] if kept else []),
                *([] if limit is None else [limit]),
            ],
        )
        assert row is not None
        return int(row["hits"]), int(row["seen"])

    def _joined(self, driver: Driver, *, limited: bool) -> tuple[str, bool]:
        """FROM clause: the driver's rows (the first ``?`` of them if ``limited``) as item
        rows ``x``, and whether they are kept to the root already. Parameters: the driver's,
        then the root if kept, then the limit.

        A driver of other tables' rows is kept to the root's leaves first (the index holds
        many versions), then each row's item is found by its key. PostgreSQL is made to: it
        misjudges how many rows the join gives (the pair of keys is one item) and would hash
        the whole items table instead, in time linear in the index (a LATERAL subquery with
        a LIMIT is run once per row, never flattened)."""
        limit = " LIMIT ?" if limited else ""
        if driver.whole:  # the rows are item rows already
            return f"({driver.rows}{limit}) x", False
        kept = f"({in_root_only(driver.rows, self.sql.dialect, per_row=limited)}{limit}) d"
        if self.sql.dialect == "sqlite":  # CROSS JOIN: the left side drives
            item = "CROSS JOIN {t}items x ON x.leaf = d.leaf AND x.media_id = d.media_id"
        else:
            item = (
                "CROSS JOIN LATERAL (SELECT * FROM {t}items x WHERE x.leaf = d.leaf "
                "AND x.media_id = d.media_id LIMIT 1) x"
            )
        return f"{kept} {item}", True

    def _sorted(self, driver: Driver, asked: Request) -> Page:
        root, where, order, cursor = asked.root, asked.where, asked.order, asked.cursor
        offset, size, total = asked.offset, asked.size, asked.total
        source, kept = self._joined(driver, limited=False)
        # Every candidate is checked: PostgreSQL may hash a probe's rows (see ``_probe``).
        condition, params = hit(where, root, self.sql.dialect, in_root=kept, per_row=False)
        after, after_params = _after_sorted(order, cursor)
        # In CASE, the probes stay per-row checks of the candidates: PostgreSQL would
        # otherwise turn them into joins, misjudge their sizes and scan a table per row.
        keys = self.sql.all(
            f"SELECT x.leaf, x.media_id, x.file_name, {_sort_value(order)} AS sort_value, "
            f"COUNT(*) OVER () AS matching FROM {source} "
            f"WHERE CASE WHEN {condition} THEN 1 ELSE 0 END = 1{after} "
            f"ORDER BY {_full_order(order)} LIMIT ? OFFSET ?",
            [*driver.params, *([root] if kept else []), *params, *after_params, size, offset],
        )
        matching = int(keys[0]["matching"]) if keys else None
        more = matching is not None and offset + len(keys) < matching
        if total is None:
            total = (
                matching
                if matching is not None and cursor is None
                else self._hits(driver, root, where, None)[0]
            )
        return Page(keys, total, False, more)

    def _walk(
        self,
        root: str,
        where: MediaFilter,
        order: MediaOrder,
        cursor: SearchCursor | None,
        need: int,
    ) -> list[Row] | None:
        """The first ``need`` hits in order (fewer at the end), or None past the budget."""
        condition, params = hit(where, root, self.sql.dialect)
        extra = "".join(f", i.{column}" for column in columns(where))
        direction = "DESC" if order.descending else "ASC"
        budget = self.limits.walk_at_most
        found: list[Row] = []
        for part, values in _parts(order, cursor):
            terms = [t for t in (part.condition("i"), _keyset(part, values, order.descending)) if t]
            walked = (
                f"FROM {{t}}items i{' WHERE ' + ' AND '.join(terms) if terms else ''} "
                f"ORDER BY {', '.join(f'i.{k} {direction}' for k in (*part.keys, 'leaf'))} "
                "LIMIT ?"
            )
            inner = (
                f"SELECT i.leaf, i.media_id, i.file_name, {_sort_value(order, 'i')} AS sort_value"
                f"{extra} {walked}"
            )
            wanted = need - len(found)
            # In CASE, the probes stay per-row checks in walk order: PostgreSQL would
            # otherwise turn a top-level EXISTS into a join and lose the order (and it is
            # told the order again, which it takes from the walk without sorting).
            in_order = (
                ""
                if self.sql.dialect == "sqlite"
                else " ORDER BY "
                + ", ".join(f"x.{k} {direction}" for k in (*_output(part.keys), "leaf"))
            )
            rows = self.sql.all(
                f"SELECT x.leaf, x.media_id, x.file_name, x.sort_value FROM ({inner}) x "
                f"WHERE CASE WHEN {condition} THEN 1 ELSE 0 END = 1{in_order} LIMIT ?",
                [*(values or ()), budget, *params, wanted],
            )
            found += rows
            if len(found) >= need:
                break
            # Counted on the sort key's index alone: the rows' other columns are not read.
            read = self.sql.value(
                f"SELECT COUNT(*) FROM (SELECT 1 {walked}) x", [*(values or ()), budget]
            )
            if int(read) >= budget:
                return None
        return found


def _parts(order: MediaOrder, cursor: SearchCursor | None) -> list[tuple[_Part, list[Any] | None]]:
    """The runs of the order still to walk, each with the keyset to start after (or None)."""
    key = order.key
    if key in NULLABLE_KEYS:
        parts = [
            _Part(key, False, (key, "file_name", "media_id")),
            _Part(key, True, ("file_name", "media_id")),
        ]
    else:
        keys = ("file_name", "media_id") if key == "file_name" else ("media_id",)
        parts = [_Part(None, False, keys)]
    if cursor is None:
        return [(part, None) for part in parts]
    if cursor.empty:
        return [(parts[1], [cursor.file_name, cursor.media_id])]
    values = {
        "file_name": [cursor.file_name, cursor.media_id],
        "media_id": [cursor.media_id],
    }.get(key, [cursor.value, cursor.file_name, cursor.media_id])
    return [(parts[0], values), *((part, None) for part in parts[1:])]


def _output(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The walk's output columns for the part's keys (the key itself is ``sort_value``)."""
    return tuple(k if k in ("file_name", "media_id") else "sort_value" for k in keys)


def _keyset(part: _Part, values: list[Any] | None, descending: bool, alias: str = "i") -> str:
    if values is None:
        return ""
    operator = "<" if descending else ">"
    names = [f"{alias}.{k}" for k in part.keys]
    if len(names) == 1:
        return f"{names[0]} {operator} ?"
    return f"({', '.join(names)}) {operator} ({', '.join('?' * len(names))})"


def _after_sorted(order: MediaOrder, cursor: SearchCursor | None) -> tuple[str, list[Any]]:
    """The sort plan's condition for items after the cursor."""
    if cursor is None:
        return "", []
    [(part, values), *rest] = _parts(order, cursor)
    terms = [t for t in (part.condition("x"), _keyset(part, values, order.descending, "x")) if t]
    sql = " AND ".join(terms)
    for later, _ in rest:  # the empty values come after every value
        sql = f"(({sql}) OR {later.condition('x')})"
    return f" AND {sql}", values or []


def _sort_value(order: MediaOrder, alias: str = "x") -> str:
    return f"{alias}.{order.key}" if order.key in NULLABLE_KEYS else "NULL"


def _full_order(order: MediaOrder) -> str:
    direction = "DESC" if order.descending else "ASC"
    keys = {"file_name": ("file_name",), "media_id": ()}.get(order.key, (order.key, "file_name"))
    terms = [f"x.{k} {direction}" for k in (*keys, "media_id")]
    if order.key in NULLABLE_KEYS:
        terms.insert(0, f"(x.{order.key} IS NULL)")
    return ", ".join(terms)
