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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from adapters.views.sql import Sql

DDL = [
    "CREATE TABLE IF NOT EXISTS {t}root_summaries (root TEXT PRIMARY KEY, summary TEXT)",
    "CREATE TABLE IF NOT EXISTS {t}summaries (summary TEXT PRIMARY KEY, clusters BIGINT)",
    "CREATE TABLE IF NOT EXISTS {t}summary_sizes (summary TEXT, cluster_id TEXT, "
    "members BIGINT, PRIMARY KEY (summary, cluster_id))",
    # A page of clusters, largest first, then by id.
    "CREATE INDEX IF NOT EXISTS {i}summary_sizes_by_members ON {t}summary_sizes "
    "(summary, members DESC, cluster_id)",
]

_CHUNK = 500
# A difference of up to this many clusters is applied to a copy of the base's sizes even
# when the base has fewer clusters: a few upserts cost less than grouping a large root.
_FEW_CLUSTERS = 1000


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

    def derive(self, root: str, base: str, removed: set[str], added: set[str]) -> None:
        """Summarise ``root``, which is ``base``'s leaves less ``removed`` plus ``added``
        (``removed`` within ``base``, ``added`` outside it, as a diff of the two gives)."""
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

    def _clustered(self, leaves: Iterable[str]) -> Counter[str]:
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
