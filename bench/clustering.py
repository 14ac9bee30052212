"""Near-duplicate clustering of 64-bit hashes against the number of items.

    .venv/bin/python -m bench.clustering [--sizes 10000,100000,1000000] [--threshold 8]

Diverse hashes (random, as perceptual hashes of different photos are) with a tenth of them
given near-duplicates a few bits away. Each method finds the connected components of
"within threshold bits":

- ``numpy MIH`` (``application.operations.hash_clusters``, what re-index runs): exact
  multi-index hashing, vectorised;
- ``faiss MultiHash``: faiss-cpu's ``IndexBinaryMultiHash`` range search (exact with
  ``nflip = t // nhash``) and scipy's connected components over the pairs it returns; only
  when faiss-cpu is installed (``pip install faiss-cpu``), which snapset does not need;

(The pure-Python pigeonhole bands this replaced, compared here until commit ce54c24, took
0.18 s at 10k and 16.9 s at 100k items: quadratic within a band's buckets.)

Every method's clusters are checked equal to the first one's. Printed: seconds, microseconds
per item, and the cost per item at each size against the smallest (flat is near-linear).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from application.operations.hash_clusters import hash_components
from bench.options import parse_sizes
from bench.reports import log, machine

Labels = npt.NDArray[np.int64]
Method = Callable[[npt.NDArray[np.uint64], int], Labels]


def diverse_hashes(n: int, threshold: int, seed: int = 1) -> npt.NDArray[np.uint64]:
    """``n`` hashes: random ones and, for a tenth of them, a copy with a few bits flipped."""
    rng = np.random.default_rng(seed)
    originals = n - n // 10
    values = rng.integers(0, 2**64 - 1, size=originals, dtype=np.uint64, endpoint=True)
    copies = values[rng.integers(0, originals, size=n // 10)]
    for _ in range(max(1, threshold // 2)):
        copies ^= np.uint64(1) << rng.integers(0, 64, size=len(copies)).astype(np.uint64)
    return np.concatenate([values, copies])


def numpy_mih(values: npt.NDArray[np.uint64], threshold: int) -> Labels:
    return hash_components(values, threshold)


def faiss_multihash(values: npt.NDArray[np.uint64], threshold: int) -> Labels:
    import faiss  # noqa: PLC0415 - optional: only this comparison needs it

    nhash = 3
    index = faiss.IndexBinaryMultiHash(64, nhash, 64 // nhash)
    index.nflip = threshold // nhash
    codes = np.ascontiguousarray(values).view(np.uint8).reshape(-1, 8)
    index.add(codes)
    lims, _, found = index.range_search(codes, threshold + 1)
    first = np.repeat(np.arange(len(values)), np.diff(lims).astype(np.int64))
    graph = coo_matrix((np.ones(len(found), dtype=np.int8), (first, found)), (len(values),) * 2)
    labels: Labels = connected_components(graph, directed=False)[1].astype(np.int64)
    return labels


def partition(labels: Labels) -> frozenset[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(index)
    return frozenset(frozenset(g) for g in groups.values() if len(g) > 1)


def methods(sizes_cap: dict[str, int]) -> list[tuple[str, Method, int]]:
    chosen: list[tuple[str, Method, int]] = [("numpy MIH", numpy_mih, 10**9)]
    try:
        import faiss  # noqa: F401, PLC0415

        chosen.append(("faiss MultiHash", faiss_multihash, sizes_cap["faiss"]))
    except ImportError:
        log("faiss-cpu is not installed: its row is left out")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clustering", description=__doc__)
    parser.add_argument("--sizes", help="comma-separated item counts (default 10k,100k,1M)")
    parser.add_argument("--threshold", type=int, default=8, help="bits (default 8)")
    parser.add_argument("--faiss-max", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes, (10_000, 100_000, 1_000_000))
    caps = {"faiss": args.faiss_max}
    print(f"Near-duplicate clustering, threshold {args.threshold} bits ({machine()})\n")
    print("| method | items | seconds | µs per item | per item vs smallest | clusters |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, method, cap in methods(caps):
        first: float | None = None
        for n in sizes:
            if n > cap:
                continue
            values = diverse_hashes(n, args.threshold)
            log(f"{name}: {n:,} items")
            started = time.perf_counter()
            labels = method(values, args.threshold)
            seconds = time.perf_counter() - started
            groups = partition(labels)
            reference = (
                partition(numpy_mih(values, args.threshold)) if name != "numpy MIH" else groups
            )
            assert groups == reference, f"{name} disagrees with numpy MIH at {n} items"
            per_item = seconds / n * 1e6
            first = first or per_item
            print(
                f"| {name} | {n:,} | {seconds:.2f} | {per_item:.2f} | x{per_item / first:.2f} | "
                f"{len(groups):,} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
