"""The media index's clusters: each root's cluster sizes summarised once, samples walked.

A summary is a set of cluster sizes (``summary_sizes``: one row per cluster id with its
member count) and how many clusters it holds (``summaries``). Every indexed root names one
(``root_summaries``), written in the transaction that indexes the root; tables from before
summaries are rebuilt from event 0, as for any change of the view's DDL. A root indexed in
full gets a summary of its own (one GROUP BY over its items: indexing it is O(n) already).
A root derived from another by an edit shares its base's summary when the edit leaves the
multiset of cluster ids alone (tags, labels, metadata, media added before a re-index), which
grouping only the items of the leaves it changed tells; otherwise it gets the base's sizes
plus the edit's difference or, when the difference has more clusters than the base's
summary (a re-clustering), a fresh GROUP BY.

So a page of clusters reads one page of ``summary_sizes`` in the order of its index and,
for each cluster on it, the root's first items by file name: the cluster's first entries in
``items_by_cluster_name`` are walked and each entry's leaf probed against the root. The
index holds every indexed version's items, so a walk also passes entries the root does not
hold (earlier versions of its items, other datasets' copies). It is cut off after a few
entries per sample, then after more, twice; clusters still short of samples (a small version
beside a large one that shares its cluster ids) are read from the root's own items in one
pass, which costs what every page did before summaries. A page costs the same however many
items or clusters the root has, unless the root holds few of a cluster's index entries.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from adapters.views.sql import Row, Sql

DDL = [
    "CREATE TABLE IF NOT EXISTS {t}root_summaries (root TEXT PRIMARY KEY, summary TEXT)",
    "CREATE TABLE IF NOT EXISTS {t}summaries (summary TEXT PRIMARY KEY, clusters BIGINT)",
    "CREATE TABLE IF NOT EXISTS {t}summary_sizes (summary TEXT, cluster_id TEXT, "
    "members BIGINT, PRIMARY KEY (summary, cluster_id))",
    # A page of clusters, largest first, then by id. (Samples walk ``items_by_cluster_name``,
    # declared with the media index's other indexes.)
    "CREATE INDEX IF NOT EXISTS {i}summary_sizes_by_members ON {t}summary_sizes "
    "(summary, members DESC, cluster_id)",
]

_CHUNK = 500
# A difference of up to this many clusters is applied to a copy of the base's sizes even
# when the base has fewer clusters: a few upserts cost less than grouping a large root.
_FEW_CLUSTERS = 1000
# A cluster's samples are walked from ``items_by_cluster_name`` for at most this many
# entries per sample, then (if short) this many, and so on, before the root's own items are
# read instead (see ``_samples``). SQLite probes every entry of a walk (it sorts the hits
# before keeping the first ones), so its walks start short: the first serves a root holding
# most of its clusters' entries, the second one holding a half or a quarter of them (a
# version before or after a rewrite of every item). PostgreSQL stops a walk at its samples,
# so it walks once, as far as the last span allows.
_WALK_SPANS = (2, 8, 32)
_PARTS = 100  # clusters walked by one statement (SQLite allows 500 SELECTs in a UNION)
# One cluster's walk (``cluster``: where its id comes from): its first entries, up to a
# limit, those of them in the root, and the first of those, up to another.
_WALK = (
    "SELECT w.cluster_id, w.file_name, w.media_id, w.leaf FROM (SELECT i.cluster_id, "
    "i.file_name, i.media_id, i.leaf FROM {{t}}items i WHERE i.cluster_id = {cluster} "
    "ORDER BY i.file_name, i.media_id LIMIT ?) w WHERE EXISTS (SELECT 1 FROM "
    "{{t}}root_leaves rl WHERE rl.root = ? AND rl.leaf = w.leaf) "
    "ORDER BY w.file_name, w.media_id LIMIT ?"
)


class MediaClusters:
    """The clusters of indexed roots, on one transaction's or read's ``Sql``."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    # Writing: call after the root's ``root_leaves`` rows are written.

    def summarise(self, root: str) -> None:
        """Give ``root`` a summary of its own, grouping all its items."""
        self.sql.run(
            "INSERT INTO {t}summary_sizes (summary, cluster_id, members) "
            "SELECT ?, i.cluster_id, COUNT(*) FROM {t}root_leaves rl "
            "JOIN {t}items i ON i.leaf = rl.leaf "
            "WHERE rl.root = ? AND i.cluster_id IS NOT NULL GROUP BY i.cluster_id",
            (root, root),
        )
        self._seal(root)
        self._name(root, root)

    def derive(self, root: str, base: str, removed: set[int], added: set[int]) -> None:
        """Summarise ``root``, which is ``base``'s leaves less ``removed`` plus ``added``
        (leaf numbers: ``removed`` within ``base``, ``added`` outside it, as a diff of the
        two gives)."""
        summary = self.summary_of(base)
        if summary is None:  # not expected: every indexed root is given one (see module doc)
            self.summarise(root)
            return
        difference = self._clustered(added)
        difference.subtract(self._clustered(removed))
        changes = [(cluster, n) for cluster, n in sorted(difference.items()) if n]
        if not changes:
            self._name(root, summary)
        elif len(changes) <= max(self._count(summary), _FEW_CLUSTERS):
            self._apply(root, summary, changes)
        else:
            self.summarise(root)

    def _apply(self, root: str, base: str, changes: list[tuple[str, int]]) -> None:
        """Give ``root`` a summary of its own: ``base``'s sizes with ``changes`` added."""
        self.sql.run(
            "INSERT INTO {t}summary_sizes (summary, cluster_id, members) "
            "SELECT ?, cluster_id, members FROM {t}summary_sizes WHERE summary = ?",
            (root, base),
        )
        self.sql.many(
            "INSERT INTO {t}summary_sizes AS s (summary, cluster_id, members) "
            "VALUES (?, ?, ?) ON CONFLICT (summary, cluster_id) "
            "DO UPDATE SET members = s.members + excluded.members",
            [(root, cluster, n) for cluster, n in changes],
        )
        self.sql.many(
            "DELETE FROM {t}summary_sizes WHERE summary = ? AND cluster_id = ? AND members <= 0",
            [(root, cluster) for cluster, n in changes if n < 0],
        )
        self._seal(root)
        self._name(root, root)

    def _clustered(self, leaves: Iterable[int]) -> Counter[str]:
        """How many items of ``leaves`` each cluster id holds."""
        found: Counter[str] = Counter()
        ordered = sorted(leaves)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            for row in self.sql.all(
                "SELECT cluster_id, COUNT(*) AS members FROM {t}items "
                f"WHERE leaf IN ({', '.join('?' * len(chunk))}) AND cluster_id IS NOT NULL "
                "GROUP BY cluster_id",
                chunk,
            ):
                found[str(row["cluster_id"])] += int(row["members"])
        return found

    def _seal(self, summary: str) -> None:
        self.sql.run(
            "INSERT INTO {t}summaries (summary, clusters) "
            "SELECT ?, COUNT(*) FROM {t}summary_sizes WHERE summary = ?",
            (summary, summary),
        )

    def _name(self, root: str, summary: str) -> None:
        self.sql.run("INSERT INTO {t}root_summaries (root, summary) VALUES (?, ?)", (root, summary))

    def summary_of(self, root: str) -> str | None:
        summary = self.sql.value("SELECT summary FROM {t}root_summaries WHERE root = ?", (root,))
        return None if summary is None else str(summary)

    def _count(self, summary: str) -> int:
        return int(
            self.sql.value("SELECT clusters FROM {t}summaries WHERE summary = ?", (summary,))
        )

    # Reading.

    def page(
        self, root: str, page: int, page_size: int, samples: int
    ) -> tuple[list[tuple[str, int, list[Row]]], int]:
        """A page of the root's clusters, largest first, as (cluster id, size, up to
        ``samples`` of its items by file name then id), and how many clusters it has (none
        for a root not indexed)."""
        summary = self.sql.one(
            "SELECT s.summary, s.clusters FROM {t}root_summaries r "
            "JOIN {t}summaries s ON s.summary = r.summary WHERE r.root = ?",
            (root,),
        )
        if summary is None:
            return [], 0
        sizes = [
            (str(row["cluster_id"]), int(row["members"]))
            for row in self.sql.all(
                "SELECT cluster_id, members FROM {t}summary_sizes WHERE summary = ? "
                "ORDER BY members DESC, cluster_id LIMIT ? OFFSET ?",
                (summary["summary"], page_size, (page - 1) * page_size),
            )
        ]
        found = self._samples(root, sizes, samples)
        return [(cluster, size, found[cluster]) for cluster, size in sizes], int(
            summary["clusters"]
        )

    def _samples(
        self, root: str, sizes: list[tuple[str, int]], samples: int
    ) -> dict[str, list[Row]]:
        """Each cluster's first items in the root, walked from ``items_by_cluster_name``
        for at most ``samples`` times each of ``_WALK_SPANS`` entries in turn, or, for the
        clusters whose walks all came back short (the root holds few of their entries: a
        small version beside a large one that shares its cluster ids), read from the root's
        own items in one pass."""
        found: dict[str, list[Row]] = {cluster: [] for cluster, _ in sizes}
        if samples <= 0:
            return found
        wanted = dict(sizes)
        short = list(wanted)
        for span in _WALK_SPANS if self.sql.dialect == "sqlite" else _WALK_SPANS[-1:]:
            for start in range(0, len(short), _PARTS):
                found |= self._walk(root, short[start : start + _PARTS], samples, samples * span)
            short = [c for c in short if len(found[c]) < min(samples, wanted[c])]
        for start in range(0, len(short), _CHUNK):
            found |= self._read(root, short[start : start + _CHUNK], samples)
        return found

    def _walk(
        self, root: str, clusters: list[str], samples: int, entries: int
    ) -> dict[str, list[Row]]:
        """The first ``samples`` items of the root among each cluster's first ``entries``
        in ``items_by_cluster_name``: one walk per cluster, each a UNION ALL part on
        SQLite, one LATERAL subquery on PostgreSQL (which took longer to plan a UNION of
        twenty walks than to run it)."""
        if self.sql.dialect == "postgres":
            values = ", ".join("(CAST(? AS TEXT))" for _ in clusters)
            keys = (
                f"SELECT w.* FROM (VALUES {values}) AS c (cluster_id) "
                f"CROSS JOIN LATERAL ({_WALK.format(cluster='c.cluster_id')}) w"
            )
            params: list[Any] = [*clusters, entries, root, samples]
        else:
            keys = " UNION ALL ".join(
                f"SELECT * FROM ({_WALK.format(cluster='?')}) s{n}" for n in range(len(clusters))
            )
            params = [p for cluster in clusters for p in (cluster, entries, root, samples)]
        return self._with_records(clusters, keys, params)

    def _read(self, root: str, clusters: list[str], samples: int) -> dict[str, list[Row]]:
        """The first ``samples`` items of each cluster among all the root's items. SQLite,
        without statistics, would rather scan each cluster's entries for every leaf of the
        root, so it is made to reach the items by leaf (``+``, which PostgreSQL lacks)."""
        cluster = "+i.cluster_id" if self.sql.dialect == "sqlite" else "i.cluster_id"
        return self._with_records(
            clusters,
            "SELECT s.cluster_id, s.file_name, s.media_id, s.leaf FROM ("
            "SELECT i.cluster_id, i.file_name, i.media_id, i.leaf, ROW_NUMBER() OVER "
            "(PARTITION BY i.cluster_id ORDER BY i.file_name, i.media_id) AS n "
            "FROM {t}root_leaves rl CROSS JOIN {t}items i WHERE rl.root = ? "
            f"AND i.leaf = rl.leaf AND {cluster} IN ({', '.join('?' * len(clusters))})) s "
            "WHERE s.n <= ?",
            [root, *clusters, samples],
        )

    def _with_records(
        self, clusters: list[str], keys: str, params: list[Any]
    ) -> dict[str, list[Row]]:
        """The records of ``keys``'s rows (cluster_id, file_name, media_id, leaf) by
        cluster, each cluster's by file name then id."""
        found: dict[str, list[Row]] = {cluster: [] for cluster in clusters}
        for row in self.sql.all(
            f"SELECT k.cluster_id, k.media_id, r.record FROM ({keys}) k JOIN {{t}}records r "
            "ON r.leaf = k.leaf AND r.media_id = k.media_id "
            "ORDER BY k.cluster_id, k.file_name, k.media_id",
            params,
        ):
            record: Row = json.loads(row["record"])
            found[str(row["cluster_id"])].append({"media_id": row["media_id"], **record})
        return found
