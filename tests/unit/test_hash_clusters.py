"""Near-duplicate clusters at scale give exactly the clusters of the definition.

The definition (``domain.clustering``): connected components of "differs in at most t
bits", for every t from 0 to 32. Here random sets with planted chains of near-duplicates are
clustered by ``hash_groups`` and by brute force over all pairs; they must agree.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from application.operations.hash_clusters import hash_groups


def brute_force_groups(hashes: dict[str, int], threshold: int) -> list[list[str]]:
    keys = sorted(hashes)
    values = np.array([hashes[k] for k in keys], dtype=np.uint64)
    close = np.bitwise_count(values[:, None] ^ values[None, :]) <= threshold
    _, labels = connected_components(close.astype(np.int8), directed=False)
    groups: dict[int, list[str]] = {}
    for key, label in zip(keys, labels, strict=True):
        groups.setdefault(int(label), []).append(key)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


@st.composite
def planted(draw: st.DrawFn) -> tuple[dict[str, int], int]:
    """Random 64-bit hashes, some of them followed by a chain of near-duplicates whose
    steps flip a few bits (so a chain's ends may be further apart than the threshold)."""
    threshold = draw(st.integers(0, 32))
    seeds = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=60))
    values: list[int] = []
    for seed in seeds:
        values.append(seed)
        value = seed
        for _ in range(draw(st.integers(0, 4))):
            for bit in draw(st.lists(st.integers(0, 63), max_size=threshold + 2)):
                value ^= 1 << bit
            values.append(value)
    hashes = {f"m{i:04d}": value for i, value in enumerate(values)}
    return hashes, threshold


@settings(max_examples=300, deadline=None)
@given(planted())
def test_clusters_at_scale_are_the_connected_components_of_the_definition(
    case: tuple[dict[str, int], int],
) -> None:
    hashes, threshold = case
    expected = brute_force_groups(hashes, threshold)
    assert hash_groups(hashes, threshold) == expected


def test_every_threshold_on_one_set_with_chains_and_exact_duplicates() -> None:
    rng = np.random.default_rng(20261207)
    base = [int(v) for v in rng.integers(0, 2**63, size=150, dtype=np.int64)]
    values = list(base)
    for seed in base[:50]:
        value = seed
        for _ in range(3):
            value ^= 1 << int(rng.integers(0, 64))
            values.append(value)
    values += base[:10]  # exact duplicates
    hashes = {f"k{i}": v for i, v in enumerate(values)}
    for threshold in range(33):
        assert hash_groups(hashes, threshold) == brute_force_groups(hashes, threshold), threshold


def test_progress_moves_from_the_first_probe_to_the_last() -> None:
    rng = np.random.default_rng(7)
    hashes = {f"k{i}": int(v) for i, v in enumerate(rng.integers(0, 2**63, size=500))}
    seen: list[tuple[int, int]] = []
    hash_groups(hashes, 8, lambda done, total: seen.append((done, total)))
    assert seen
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert {total for _, total in seen} == {len(seen)}
