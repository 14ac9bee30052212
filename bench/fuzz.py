"""Parser fuzzing at scale: the properties of tests/reliability/fuzz_properties.py (the ones
test_parser_fuzz.py runs a few hundred times each in CI) over a million inputs.

Run from the repository root:

    .venv/bin/python -m bench.fuzz [--inputs 1000000] [--batch 5000] [--only jwt,iso_time]

``--inputs`` (or SNAPSET_FUZZ_INPUTS) is the total over all parsers, shared by their weights.
Each parser runs in batches of fresh Hypothesis runs (generation only: a crash is tallied and
the run goes on, so one bug does not hide the next). Drawing an input costs Hypothesis far
more than checking it, so each drawn input is also checked in ``--mutants`` cheap variants
(a character or byte inserted, dropped or repeated, a leaf of a JSON value changed, a zip
byte flipped); ``inputs`` counts both, ``drawn`` the ones Hypothesis made. It prints, per
parser, the inputs run, the crashing inputs, the distinct crashes and the time, then one
example input of each distinct crash. Exit status 1 when anything crashed (0 crashes expected).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from tests.reliability.fuzz_properties import Crash, Parser, parsers


@dataclass
class Tally:
    inputs: int = 0
    drawn: int = 0  # by Hypothesis; the other inputs are mutants of these
    crashes: int = 0
    seconds: float = 0.0
    distinct: dict[str, str] = field(default_factory=dict)  # crash kind -> first input

    def record(self, crash: Crash, value: Any) -> None:
        self.crashes += 1
        kind = _kind(str(crash))
        if kind not in self.distinct:
            self.distinct[kind] = f"{str(crash)[:300]}\n      input: {value!r}"[:700]


def _kind(message: str) -> str:
    """A crash message without the values in it, so one bug counts once."""
    first = message.splitlines()[0] if message else ""
    return re.sub(r"\d+", "_", re.split(r"['\"]", first, maxsplit=1)[0])[:90]


def run(parser: Parser, inputs: int, batch: int, mutants: int, seed: int) -> Tally:
    tally = Tally()
    rng = random.Random(seed)

    def one(value: Any) -> None:
        tally.inputs += 1
        try:
            parser.check(value)
        except Crash as crash:
            tally.record(crash, value)
        except Exception as error:  # the harness itself failed: show it, do not stop
            tally.record(Crash(f"harness error {type(error).__name__}: {error}"), value)

    def tallied(value: Any) -> None:
        tally.drawn += 1
        one(value)
        for _ in range(mutants):
            one(parser.mutate(value, rng))

    started = time.perf_counter()
    while tally.inputs < inputs:
        before = tally.inputs
        left = -(-(inputs - tally.inputs) // (1 + mutants))
        settings(
            max_examples=min(batch, left),
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(parser.strategy)(tallied))()
        if tally.inputs - before < 1:
            break  # the strategy has nothing new to give
    tally.seconds = time.perf_counter() - started
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--inputs",
        type=int,
        default=int(os.environ.get("SNAPSET_FUZZ_INPUTS", "1000000")),
        help="inputs over all parsers (default 1,000,000)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=5000,
        help="inputs per Hypothesis run (fresh random state each run)",
    )
    parser.add_argument(
        "--mutants",
        type=int,
        default=9,
        help="cheap variants checked per input Hypothesis draws (0: none)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the mutations")
    parser.add_argument("--only", default="", help="comma-separated parser names")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snapset-fuzz-") as tmp:
        chosen = [
            p
            for p in parsers(Path(tmp) / "work")
            if not args.only or p.name in args.only.split(",")
        ]
        weights = sum(p.weight for p in chosen)
        seed = args.seed if args.seed is not None else random.getrandbits(32)
        print(f"{args.inputs} inputs, {args.mutants} mutants per drawn input, seed {seed}")
        print(
            f"{'parser':<16}{'inputs':>10}{'drawn':>10}{'crashes':>10}{'distinct':>10}"
            f"{'seconds':>10}{'inputs/s':>10}",
            flush=True,
        )
        tallies: dict[str, Tally] = {}
        for item in chosen:
            tally = tallies[item.name] = run(
                item, round(args.inputs * item.weight / weights), args.batch, args.mutants, seed
            )
            print(
                f"{item.name:<16}{tally.inputs:>10}{tally.drawn:>10}{tally.crashes:>10}"
                f"{len(tally.distinct):>10}{tally.seconds:>10.1f}"
                f"{tally.inputs / max(tally.seconds, 1e-9):>10.0f}",
                flush=True,
            )
    total = sum(t.inputs for t in tallies.values())
    drawn = sum(t.drawn for t in tallies.values())
    crashes = sum(t.crashes for t in tallies.values())
    distinct = sum(len(t.distinct) for t in tallies.values())
    seconds = sum(t.seconds for t in tallies.values())
    print(
        f"{'total':<16}{total:>10}{drawn:>10}{crashes:>10}{distinct:>10}{seconds:>10.1f}"
        f"{total / max(seconds, 1e-9):>10.0f}"
    )
    for name, tally in tallies.items():
        for text in tally.distinct.values():
            print(f"\n[{name}] {text}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
