"""Near-duplicate clustering: the multi-index search re-index runs finds exactly the
components that comparing every pair would, in any input order, with stable ids."""

from __future__ import annotations

import random
from uuid import uuid5

import pytest

from application.operations.hash_clusters import bands
from application.operations.hash_clusters import hash_groups as near_duplicate_groups
from domain.clustering import MAX_THRESHOLD, cluster_id
from domain.errors import Invalid
from domain.ids import NAMESPACE


def all_pairs_groups(hashes: dict[str, int], threshold: int) -> list[list[str]]:
    """The reference: connected components over every pair, by depth-first search."""
    keys = sorted(hashes)
    seen: set[str] = set()
    groups = []
    for start in keys:
        if start in seen:
            continue
        component, stack = [], [start]
        seen.add(start)
        while stack:
            key = stack.pop()
            component.append(key)
            for other in keys:
                if other not in seen and bin(hashes[key] ^ hashes[other]).count("1") <= threshold:
                    seen.add(other)
                    stack.append(other)
        if len(component) > 1:
            groups.append(sorted(component))
    return sorted(groups, key=lambda g: g[0])


def flip(value: int, bits: int, rng: random.Random) -> int:
    for position in rng.sample(range(64), bits):
        value ^= 1 << position
    return value


def planted(seed: int, families: int = 12, max_flips: int = 14) -> dict[str, int]:
    """Random hashes with near copies at assorted distances, and some exact copies."""
    rng = random.Random(seed)
    hashes: dict[str, int] = {}
    for family in range(families):
        base = rng.getrandbits(64)
        hashes[f"f{family}-0"] = base
        for copy in range(1, rng.randint(1, 5)):
            hashes[f"f{family}-{copy}"] = flip(base, rng.randint(0, max_flips), rng)
    return hashes


@pytest.mark.parametrize("n", [2, 1000, 10**6, 10**7])
@pytest.mark.parametrize("threshold", range(1, MAX_THRESHOLD + 1))
def test_bands_cover_the_64_bits_and_their_radius_keeps_the_pigeonhole(
    n: int, threshold: int
) -> None:
    widths, radius = bands(n, threshold)
    assert sum(widths) == 64
    assert all(0 < width <= 24 for width in widths)  # a band's table stays small
    # Two hashes within ``threshold`` bits differ in at most ``radius`` bits of some band.
    assert radius == threshold // len(widths)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("threshold", [0, 1, 3, 8, 13, 20, 32])
def test_groups_equal_the_components_of_comparing_every_pair(seed: int, threshold: int) -> None:
    hashes = planted(seed)
    assert near_duplicate_groups(hashes, threshold) == all_pairs_groups(hashes, threshold)


@pytest.mark.parametrize("seed", range(8))
def test_groups_do_not_depend_on_the_input_order(seed: int) -> None:
    hashes = planted(seed)
    items = list(hashes.items())
    random.Random(seed).shuffle(items)
    assert near_duplicate_groups(dict(items), 8) == near_duplicate_groups(hashes, 8)


@pytest.mark.parametrize("seed", range(8))
def test_every_pair_within_the_threshold_shares_a_group_and_groups_grow_with_it(
    seed: int,
) -> None:
    hashes = planted(seed)
    smaller = {k: g[0] for g in near_duplicate_groups(hashes, 5) for k in g}
    larger = {k: g[0] for g in near_duplicate_groups(hashes, 9) for k in g}
    for a in hashes:
        for b in hashes:
            if a < b and bin(hashes[a] ^ hashes[b]).count("1") <= 5:
                assert smaller[a] == smaller[b]
    for key, group in smaller.items():  # raising the threshold only merges groups
        assert larger[key] == larger[group]


def test_a_hash_at_exactly_the_threshold_joins_and_one_bit_more_does_not() -> None:
    base = 0x0123_4567_89AB_CDEF
    at = base ^ 0xFF  # 8 bits apart
    beyond = base ^ (0x1FF << 40)  # 9 bits apart from base, 17 from ``at``
    groups = near_duplicate_groups({"a": base, "b": at, "c": beyond}, 8)
    assert groups == [["a", "b"]]


def test_identical_hashes_group_at_threshold_zero_and_singletons_are_left_out() -> None:
    hashes = {"x": 5, "y": 5, "z": 5, "lone": 4, "other": 1 << 63}
    assert near_duplicate_groups(hashes, 0) == [["x", "y", "z"]]
    assert near_duplicate_groups(hashes, 1) == [["lone", "x", "y", "z"]]
    assert near_duplicate_groups({}, 8) == []


def test_a_chain_of_close_hashes_is_one_cluster_single_linkage() -> None:
    a, b, c = 0, 0b1111, 0b1111_1111  # a~b and b~c at 4 bits, a and c 8 apart
    assert near_duplicate_groups({"a": a, "b": b, "c": c}, 4) == [["a", "b", "c"]]


def test_a_cluster_id_is_uuid5_of_the_smallest_member() -> None:
    assert cluster_id("m1") == str(uuid5(NAMESPACE, "cluster:m1"))
    assert cluster_id("m2") != cluster_id("m1")


@pytest.mark.parametrize("threshold", [-1, 33, 8.0, True, "8"])
def test_a_threshold_outside_0_to_32_is_invalid(threshold: object) -> None:
    with pytest.raises(Invalid, match="threshold"):
        near_duplicate_groups({"a": 1}, threshold)  # type: ignore[arg-type]


def test_a_hash_outside_64_bits_is_invalid() -> None:
    with pytest.raises(Invalid, match="64-bit"):
        near_duplicate_groups({"a": 1 << 64}, 8)
