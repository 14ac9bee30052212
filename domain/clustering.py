"""Near-duplicate clusters: groups of items whose 64-bit perceptual hashes are close.

Two items are near-duplicates when the Hamming distance of their hashes is at most the
threshold t; a cluster is a connected component of that relation (single linkage: a chain
a~b~c puts a and c together even when they are further apart than t).

No all-pairs comparison: by the pigeonhole principle, two hashes that differ in at most t
bits agree exactly on at least one of t + 1 disjoint bands of bits. Items are bucketed by
each band's value and only items sharing a bucket are compared; identical hashes collapse
first (exact duplicates are the common case), and union-find joins the components. The
work is O(n * (t + 1)) for the buckets plus the comparisons inside them; with bands of
about 64 / (t + 1) bits, a random pair shares a bucket with probability about
(t + 1) / 2**(64 / (t + 1)), so small thresholds (the default 8: under 7% of pairs, most of
them cheap) stay far from quadratic, while t near 32 approaches it (at t = 32 half of all
random pairs are near-duplicates anyway).

The result depends only on the set of (key, hash) pairs, never on their order, and a
cluster's id is uuid5 of its smallest member key, so re-running gives the same ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import uuid5

from domain.errors import Invalid
from domain.ids import NAMESPACE

HASH_BITS = 64
MAX_THRESHOLD = 32
DEFAULT_THRESHOLD = 8


def bands(threshold: int) -> list[tuple[int, int]]:
    """``threshold + 1`` disjoint bands that cover all 64 bits, as (shift, mask) pairs."""
    count = threshold + 1
    widths = [HASH_BITS // count + (1 if i < HASH_BITS % count else 0) for i in range(count)]
    result, shift = [], 0
    for width in widths:
        result.append((shift, (1 << width) - 1))
        shift += width
    return result


def near_duplicate_groups(hashes: Mapping[str, int], threshold: int) -> list[list[str]]:
    """The clusters of two or more keys, each sorted, ordered by their smallest key."""
    check_threshold(threshold)
    keys_of: dict[int, list[str]] = {}
    for key, value in hashes.items():
        if not 0 <= value < 1 << HASH_BITS:
            raise Invalid(f"The hash of {key!r} is not a 64-bit value.")
        keys_of.setdefault(value, []).append(key)
    values = sorted(keys_of)
    components = _UnionFind(len(values))
    if threshold > 0:
        for shift, mask in bands(threshold):
            buckets: dict[int, list[int]] = {}
            for index, value in enumerate(values):
                buckets.setdefault((value >> shift) & mask, []).append(index)
            for members in buckets.values():
                _join_close(members, values, threshold, components)
    grouped: dict[int, list[str]] = {}
    for index, value in enumerate(values):
        grouped.setdefault(components.find(index), []).extend(keys_of[value])
    return sorted(
        (sorted(keys) for keys in grouped.values() if len(keys) > 1), key=lambda keys: keys[0]
    )


def exact_groups(values: Mapping[str, str]) -> list[list[str]]:
    """The groups of two or more keys with the same value (e.g. the same blob), like above."""
    keys_of: dict[str, list[str]] = {}
    for key, value in values.items():
        keys_of.setdefault(value, []).append(key)
    return sorted(
        (sorted(keys) for keys in keys_of.values() if len(keys) > 1), key=lambda keys: keys[0]
    )


def cluster_ids(groups: list[list[str]]) -> dict[str, str]:
    """Each grouped key's cluster id (``cluster_id`` of the group's smallest key)."""
    ids: dict[str, str] = {}
    for group in groups:
        ids.update(dict.fromkeys(group, cluster_id(min(group))))
    return ids


def cluster_id(smallest_key: str) -> str:
    """A cluster's id: uuid5 of its smallest member key, so the same members keep it."""
    return str(uuid5(NAMESPACE, f"cluster:{smallest_key}"))


def check_threshold(threshold: int) -> None:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int)
        or not 0 <= threshold <= MAX_THRESHOLD
    ):
        raise Invalid(
            f"The threshold must be a whole number of bits from 0 to "
            f"{MAX_THRESHOLD}, not {threshold!r}."
        )


def _join_close(
    members: list[int], values: list[int], threshold: int, components: _UnionFind
) -> None:
    for position, first in enumerate(members):
        value = values[first]
        for second in members[position + 1 :]:
            if (value ^ values[second]).bit_count() <= threshold:
                components.union(first, second)


class _UnionFind:
    """Disjoint sets over 0..n-1 with path halving and union by size."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))
        self._size = [1] * size

    def find(self, item: int) -> int:
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, first: int, second: int) -> None:
        a, b = self.find(first), self.find(second)
        if a == b:
            return
        if self._size[a] < self._size[b]:
            a, b = b, a
        self._parent[b] = a
        self._size[a] += self._size[b]
