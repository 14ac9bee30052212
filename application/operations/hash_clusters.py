"""Near-duplicate clusters of 64-bit hashes, exactly, at millions of items.

Two hashes are near-duplicates when they differ in at most ``t`` bits, and clusters are the
connected components of that relation (``domain.clustering`` states the definition). This
finds them with multi-index hashing, vectorised with numpy:

- Identical hashes collapse first.
- The 64 bits are cut into ``m`` disjoint bands. Two hashes within ``t`` bits of each other
  differ in at most ``t // m`` bits of some band (pigeonhole), so probing, for each band,
  every value within ``t // m`` bits of an item's band value finds every near pair. Items are
  sorted by band value and a table of offsets gives each value's bucket, so a probe of all
  items at once is a handful of array operations; probing items in band order keeps the
  table's reads local.
- Each candidate pair is checked on all 64 bits; pairs already in one component are dropped,
  and the components are recomputed (scipy's ``connected_components``) whenever the pairs
  found so far pass a bound, so memory stays bounded however clustered the data is.

``m`` is chosen per run to minimise the expected work: about ``m * probes(w, t // m) * (1 +
n / 2**w)`` with bands of ``w = 64 / m`` bits. With ``n`` near 2**20 and the default ``t = 8``
that is three bands of 21 bits probed at radius 2; at large ``t`` it falls back to exact
matches on ``t + 1`` bands, where the work grows towards all pairs (at ``t = 32`` half of all
random pairs are near-duplicates anyway).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from math import comb

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from domain.clustering import check_hash, check_threshold

Labels = npt.NDArray[np.int64]
Positions = npt.NDArray[np.int32]
_MAX_PENDING_PAIRS = 2_000_000  # pairs kept before the components are recomputed
_MAX_WIDTH = 24  # bits of a band, so its table of offsets stays small


def hash_components(
    hashes: npt.NDArray[np.uint64],
    threshold: int,
    progress: Callable[[int, int], None] | None = None,
) -> Labels:
    """A component label per hash (equal labels: one cluster), reporting (done, total)
    probes to ``progress`` as it goes."""
    values, inverse = np.unique(hashes, return_inverse=True)
    labels = _value_components(values, threshold, progress)
    return labels[inverse.reshape(-1)]


def _value_components(
    values: npt.NDArray[np.uint64], threshold: int, progress: Callable[[int, int], None] | None
) -> Labels:
    n = len(values)
    labels: Labels = np.arange(n, dtype=np.int64)
    if threshold == 0 or n < 2:
        return labels
    widths, radius = bands(n, threshold)
    masks = {width: _masks(width, radius) for width in set(widths)}
    total = sum(len(masks[width]) for width in widths)
    found, done, shift = _Pairs(labels), 0, 0

    def probed(order: Positions, pairs: tuple[Positions, Positions]) -> None:
        nonlocal done
        found.add(order, *pairs)
        done += 1
        if progress is not None:
            progress(done, total)

    for width in widths:
        band = ((values >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int32)
        shift += width
        order = np.argsort(band, kind="stable").astype(np.int32)
        table = _BandTable(band[order], values[order], width)
        probed(order, table.same_bucket(threshold))
        for top, group in _by_top_bit(masks[width][1:]):
            probing = table.probing(top)
            for mask in group:
                probed(order, table.pairs(probing, int(mask), threshold))
    return found.components()


class _BandTable:
    """One band's items sorted by band value, with each value's bucket (start, count)."""

    def __init__(self, keys: Positions, values: npt.NDArray[np.uint64], width: int) -> None:
        self.keys, self.values = keys, values
        self.counts = np.zeros(1 << width, dtype=np.int32)
        present, counts = np.unique(keys, return_counts=True)  # keys are sorted: cheap
        self.counts[present] = counts
        self.starts = np.cumsum(self.counts, dtype=np.int32) - self.counts

    def same_bucket(self, threshold: int) -> tuple[Positions, Positions]:
        """Pairs (i < j) in one bucket within ``threshold`` bits."""
        count = self.counts[self.keys]
        shared = np.flatnonzero(count > 1).astype(np.int32)
        later = self.starts[self.keys[shared]] + count[shared] - 1 - shared
        return self._checked(shared, later, shared + 1, threshold)

    def probing(self, top: int) -> tuple[Positions, Positions]:
        """The items whose band value has bit ``top`` clear, and their values: probing only
        from them finds each pair of values that differ in a mask with that top bit once."""
        clear = np.flatnonzero((self.keys & (1 << top)) == 0).astype(np.int32)
        return clear, self.keys[clear]

    def pairs(
        self, probing: tuple[Positions, Positions], mask: int, threshold: int
    ) -> tuple[Positions, Positions]:
        """Pairs whose band values differ by ``mask``, within ``threshold`` bits."""
        positions, keys = probing
        probe = keys ^ mask
        count = self.counts[probe]
        hit = np.flatnonzero(count)
        first = positions[hit]
        return self._checked(first, count[hit], self.starts[probe[hit]], threshold)

    def _checked(
        self, first: Positions, counts: Positions, starts: Positions, threshold: int
    ) -> tuple[Positions, Positions]:
        """Each ``first`` paired with the ``counts`` items from ``starts`` on, the pairs
        within ``threshold`` bits kept."""
        first = np.repeat(first, counts)
        ends = np.cumsum(counts, dtype=np.int64)
        second = np.arange(len(first), dtype=np.int64) - np.repeat(ends - counts, counts)
        second = (second + np.repeat(starts, counts)).astype(np.int32)
        close = np.bitwise_count(self.values[first] ^ self.values[second]) <= threshold
        return first[close], second[close]


class _Pairs:
    """Pairs found so far, joined into components whenever there are many of them, and
    only kept while they join items not yet in one component."""

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self._pending: list[tuple[Labels, Labels]] = []
        self._count = 0

    def add(self, order: Positions, first: Positions, second: Positions) -> None:
        a, b = order[first].astype(np.int64), order[second].astype(np.int64)
        apart = self.labels[a] != self.labels[b]
        if apart.any():
            self._pending.append((a[apart], b[apart]))
            self._count += int(apart.sum())
        if self._count > _MAX_PENDING_PAIRS:
            self.labels = _merged(self.labels, self._pending)
            self._pending, self._count = [], 0

    def components(self) -> Labels:
        return _merged(self.labels, self._pending) if self._pending else self.labels


def _by_top_bit(
    masks: npt.NDArray[np.int64],
) -> list[tuple[int, npt.NDArray[np.int64]]]:
    """Non-zero masks grouped by their highest set bit."""
    tops = np.floor(np.log2(masks)).astype(np.int64) if len(masks) else masks
    return [(int(top), masks[tops == top]) for top in np.unique(tops)]


def _merged(
    labels: Labels, pairs: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]
) -> Labels:
    """The components of ``labels`` joined by ``pairs``."""
    first = labels[np.concatenate([a for a, _ in pairs])]
    second = labels[np.concatenate([b for _, b in pairs])]
    n = len(labels)
    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _, joined = connected_components(graph, directed=False)
    merged: Labels = joined[labels].astype(np.int64)
    return merged


def bands(n: int, threshold: int) -> tuple[list[int], int]:
    """The band widths and the probe radius that minimise the expected work."""

    def cost(m: int) -> float:
        width, radius = 64 // m, threshold // m
        probes = sum(comb(width + 1, i) for i in range(radius + 1))
        return m * probes * (1 + n / (1 << width))

    fewest = -(-64 // _MAX_WIDTH)  # bands narrow enough for their tables
    m = min(range(fewest, max(fewest, threshold + 1) + 1), key=cost)
    widths = [64 // m + (1 if i < 64 % m else 0) for i in range(m)]
    return widths, threshold // m


def _masks(width: int, radius: int) -> npt.NDArray[np.int64]:
    """Every value of ``width`` bits with at most ``radius`` bits set (0 first)."""
    found = [0]
    for flips in range(1, radius + 1):
        found.extend(
            sum(1 << b for b in bits) for bits in itertools.combinations(range(width), flips)
        )
    return np.array(found, dtype=np.int64)


def hash_groups(
    hashes: dict[str, int], threshold: int, progress: Callable[[int, int], None] | None = None
) -> list[list[str]]:
    """The clusters of two or more keys (``domain.clustering``), each sorted, ordered by
    their smallest key. Invalid for a threshold outside 0..32 or a hash beyond 64 bits."""
    check_threshold(threshold)
    for key, value in hashes.items():
        check_hash(key, value)
    keys = np.array(list(hashes), dtype=object)
    if len(keys) < 2:
        return []
    values = np.fromiter(hashes.values(), dtype=np.uint64, count=len(keys))
    labels = hash_components(values, threshold, progress)
    order = np.lexsort((keys, labels))
    labels, keys = labels[order], keys[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    sizes = np.diff(np.r_[starts, len(labels)])
    groups = [list(keys[s : s + size]) for s, size in zip(starts, sizes, strict=True) if size > 1]
    return sorted(groups, key=lambda group: group[0])
