"""bench.scale's tables: one per backend (a row per operation, a column per size, then the
cost per item against the smallest size), the HTTP pass, and the bounds of issue 10."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.reports import fmt_size, verdict

RATIO_BOUND = 1.5  # cost per item, 1M against 100k
RSS_BOUND_MB = 300.0
RSS_GROWTH_BOUND = 1.2  # peak RSS, 1M against 100k
THROUGHPUT_BOUND = 0.8  # a step's items/s against its raw work in one process (see RATES)
REINDEX_BOUND_S = 90.0  # at 1M
REBUILD_BOUND_S = 120.0  # at 1M
EXPLORE_P50_MS, EXPLORE_P99_MS = 25.0, 100.0  # at 1M
MILLION = 1_000_000


@dataclass
class SizeRun:
    """What one (backend, size) gave: each step's figures, or an ``error`` in them."""

    n: int
    failed: str = ""  # the size could not run at all (no data set)
    raw_rate: float = math.nan
    model_rate: float = math.nan  # the enrichment model alone, one process, items/s
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    http: dict[str, Any] | None = None
    wall: float = 0.0

    def figures(self) -> dict[str, Any]:
        return asdict(self)

    def error(self, step: str) -> str | None:
        if self.failed:
            return f"not run: {self.failed}"
        figures = self.steps.get(step)
        if figures is None:
            return "not run"
        return figures.get("error")

    def seconds(self, step: str, key: str) -> float | None:
        value = self.steps.get(step, {}).get(key)
        if value is None:
            return None
        return float(value) / 1000 if key.endswith("_ms") else float(value)

    def peak_mb(self) -> tuple[float, str]:
        """The largest peak RSS of any step, and that step."""
        peaks = [
            (float(figures[key]), step)
            for step, figures in self.steps.items()
            for key in ("peak_mb", "views_peak_mb")
            if key in figures
        ]
        return max(peaks) if peaks else (math.nan, "")

    def query(self, name: str) -> dict[str, float] | None:
        found: dict[str, float] | None = self.steps.get("explore", {}).get("queries", {}).get(name)
        return found


@dataclass(frozen=True)
class Line:
    label: str
    step: str
    key: str  # seconds, or milliseconds when it ends in _ms
    flat: bool = False  # an O(1) operation: compared per call, not per item
    rss: str | None = "peak_mb"


THEN = "then the views catch up"
LINES = (
    Line("ingest (DATASET_CREATION task)", "ingest", "seconds"),
    Line("views catch up: the media index indexes n items", "index", "seconds"),
    Line("enrichment, PERCEPTUAL_HASH (ENRICHMENT task)", "enrich", "seconds"),
    Line(f"- {THEN}", "enrich", "views", rss="views_peak_mb"),
    Line("re-index, threshold 8 (REINDEX task)", "reindex", "seconds"),
    Line(f"- {THEN}", "reindex", "views", rss="views_peak_mb"),
    Line("metadata import, a JSON row per item (CUSTOM_METADATA task)", "metadata", "seconds"),
    Line(f"- {THEN}", "metadata", "views", rss="views_peak_mb"),
    Line("tag 1 item in 32 (edit_items)", "tag", "seconds"),
    Line(f"- {THEN}", "tag", "views", rss="views_peak_mb"),
    Line("create snapshot (median of 5) °", "create", "median_ms", flat=True),
    Line("diff vs a snapshot, 100 edited (median of 5, cold) °", "diff", "median_ms", flat=True),
    Line("restore to COMPLETED (median of 3) °", "restore", "median_ms", flat=True),
    Line(f"- {THEN} °", "restore", "views", flat=True, rss="views_peak_mb"),
    Line("clone to COMPLETED (median of 3) °", "clone", "median_ms", flat=True),
    Line(f"- {THEN}, per clone °", "clone", "views_ms", flat=True, rss=None),
    Line("export, no media (EXPORT task)", "export", "seconds"),
    Line("label propagation, 10 sources (LABEL_PROPAGATION task)", "propagate", "seconds"),
    Line(f"- {THEN} °", "propagate", "views", flat=True, rss="views_peak_mb"),
    Line("rebuild every view (snapset rebuild)", "rebuild", "seconds"),
)
EXPLORE_AFTER = "tag"  # the explore rows come after this step's lines


def fmt_time(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.2f} s"
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


class _Notes:
    """Footnotes for the cells that hold an error instead of a figure."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._seen: dict[str, int] = {}

    def cell(self, size: int, step: str, error: str) -> str:
        """The cell's text and a note; one note for all the steps a size did not run."""
        where = fmt_size(size) if error.startswith("not run") else f"{fmt_size(size)} {step}"
        key = f"{where}: {error}"
        if key not in self._seen:
            self.lines.append(key)
            self._seen[key] = len(self.lines)
        word = error.split(":", 1)[0].split(" after", 1)[0]
        return f"{word} [{self._seen[key]}]"


def _ratio(value: float | None, first: float | None, n: int, n0: int, flat: bool) -> str:
    if value is None or first is None or not first:
        return ""
    ratio = value / first if flat else (value / n) / (first / n0)
    return f"x{ratio:.2f}"


def report_backend(backend: str, runs: Sequence[SizeRun], http_at: int) -> None:
    sizes = [r.n for r in runs]
    first = runs[0]
    notes = _Notes()
    print(f"\n## {backend}\n")
    print(
        "Seconds (or ms) and the peak RSS of the process that ran the step; then the cost "
        "against the smallest size: per item, or per call for the O(1) operations (°)."
    )
    heads = [fmt_size(n) for n in sizes] + [
        f"{fmt_size(n)}/{fmt_size(sizes[0])}" for n in sizes[1:]
    ]
    print(f"\n| operation | {' | '.join(heads)} |")
    print("|---|" + "---:|" * len(heads))
    for line in LINES:
        _print_line(line, runs, first, notes)
        if line.step == EXPLORE_AFTER and line.key == "views":
            _print_explore(runs, first, notes)
    for step, label, raw in RATES:
        cells = [
            notes.cell(run.n, step, error)
            if (error := run.error(step))
            else f"{_rate(run, step):,.0f} / {raw(run):,.0f} = {_rate(run, step) / raw(run):.2f}"
            for run in runs
        ]
        print(f"| {label} | {' | '.join(cells)} |{' |' * len(runs[1:])}")
    peaks = [run.peak_mb() for run in runs]
    cells = [f"{mb:.0f} MB ({step})" if step else "" for mb, step in peaks]
    cells += [f"x{mb / peaks[0][0]:.2f}" if step and peaks[0][1] else "" for mb, step in peaks[1:]]
    print(f"| largest peak RSS of any step | {' | '.join(cells)} |")
    walls = ", ".join(f"{fmt_size(r.n)} {r.wall / 60:.1f} min" for r in runs)
    print(f"\nWall time per size: {walls}.")
    for number, text in enumerate(notes.lines, 1):
        print(f"\n[{number}] {text}")
    _print_http(backend, runs, http_at)


def _print_line(line: Line, runs: Sequence[SizeRun], first: SizeRun, notes: _Notes) -> None:
    cells, values = [], []
    for run in runs:
        error = run.error(line.step)
        value = None if error else run.seconds(line.step, line.key)
        values.append(value)
        if error:
            cells.append(notes.cell(run.n, line.step, error))
        elif value is None:
            cells.append("")
        else:
            rss = run.steps[line.step].get(line.rss) if line.rss else None
            cells.append(fmt_time(value) + (f" · {rss:.0f} MB" if rss is not None else ""))
    cells += [
        _ratio(value, values[0], run.n, first.n, line.flat)
        for value, run in zip(values[1:], runs[1:], strict=True)
    ]
    print(f"| {line.label} | {' | '.join(cells)} |")


def _print_explore(runs: Sequence[SizeRun], first: SizeRun, notes: _Notes) -> None:
    names = next(
        (list(r.steps["explore"].get("queries", {})) for r in runs if not r.error("explore")), []
    )
    for number, name in enumerate(names):
        cells, values = [], []
        for run in runs:
            error = run.error("explore")
            found = run.query(name)
            values.append(found["p50_ms"] if found else None)
            if error:
                cells.append(notes.cell(run.n, "explore", error))
            elif found:
                rss = f" · {run.steps['explore']['peak_mb']:.0f} MB" if number == 0 else ""
                cells.append(f"{found['p50_ms']:.1f} / {found['p99_ms']:.1f} ms{rss}")
            else:
                cells.append("")
        cells += [
            _ratio(value, values[0], run.n, first.n, True)
            for value, run in zip(values[1:], runs[1:], strict=True)
        ]
        print(f"| explore p50 / p99: {name} ° | {' | '.join(cells)} |")


def _print_http(backend: str, runs: Sequence[SizeRun], http_at: int) -> None:
    run = next((r for r in runs if r.n == http_at), None)
    if run is None or run.http is None:
        return
    print(f"\n### {backend}: explore over HTTP at {fmt_size(http_at)} (`snapset serve`)\n")
    if "error" in run.http:
        print(f"- {run.http['error']}")
        return
    print("| query | in process p50 / p99 | over HTTP p50 / p99 | matching |")
    print("|---|---:|---:|---:|")
    for name, found in run.http["queries"].items():
        inner = run.query(name)
        local = f"{inner['p50_ms']:.1f} / {inner['p99_ms']:.1f} ms" if inner else ""
        print(
            f"| {name} | {local} | {found['p50_ms']:.1f} / {found['p99_ms']:.1f} ms | "
            f"{found['matching']:,} |"
        )
    print(
        f"\nThe server's RSS after the queries: {run.http['rss_mb']:.0f} MB (peak "
        f"{run.http['peak_mb']:.0f} MB)."
    )


# The bounds of issue 10.


def report_bounds(results: dict[str, list[SizeRun]]) -> list[str]:
    lines = []
    for backend, runs in results.items():
        lines += [f"{backend}: {text}" for text in _bounds(runs)]
    print("\n## Bounds of issue 10\n")
    for line in lines:
        print(f"- {line}")
    return lines


def _bounds(runs: Sequence[SizeRun]) -> list[str]:
    by_size = {r.n: r for r in runs}
    million = by_size.get(MILLION)
    largest = runs[-1]
    out = []
    for step, label, bound in (
        ("reindex", "re-index", REINDEX_BOUND_S),
        ("rebuild", "rebuild", REBUILD_BOUND_S),
    ):
        if million is None:
            seen = largest.seconds(step, "seconds")
            at = f"; at {fmt_size(largest.n)}: {fmt_time(seen)}" if seen is not None else ""
            out.append(f"{label} <= {bound:.0f} s at 1M: not judged (no 1M run{at})")
            continue
        value = million.seconds(step, "seconds")
        if value is None:
            out.append(f"{label} <= {bound:.0f} s at 1M: MISS ({million.error(step)})")
        else:
            out.append(
                f"{label} <= {bound:.0f} s at 1M: {fmt_time(value)}  {verdict(value <= bound)}"
            )
    out.append(_explore_bound(million, largest))
    pair = _pair(runs)
    if pair is not None:
        out += _ratio_bounds(*pair)
    peaks = [(r.n, *r.peak_mb()) for r in runs if r.peak_mb()[1]]
    worst = max(peaks, key=lambda p: p[1], default=None)
    if worst is not None:
        text = f"{worst[1]:.0f} MB ({worst[2]} at {fmt_size(worst[0])})"
        out.append(
            f"RSS <= {RSS_BOUND_MB:.0f} MB at every size: worst {text}  "
            f"{verdict(worst[1] <= RSS_BOUND_MB)}"
        )
    for step, label, raw in RATES:
        rates = [(r.n, _rate(r, step) / raw(r)) for r in runs if not r.error(step)]
        if rates:
            shown = ", ".join(f"{fmt_size(n)} {x:.2f}" for n, x in rates)
            passed = all(x >= THROUGHPUT_BOUND for _, x in rates)
            out.append(f"{label} >= {THROUGHPUT_BOUND}: {shown}  {verdict(passed)}")
    return out


def _rate(run: SizeRun, step: str) -> float:
    """Items/s of a step: ingest's own figure, else the dataset's items over its seconds."""
    figures = run.steps[step]
    if "items_per_s" in figures:
        return float(figures["items_per_s"])
    return run.n / float(figures["seconds"])


# The throughput bounds: a step's items/s against the raw rate of the work it wraps.
RATES: list[tuple[str, str, Callable[[SizeRun], float]]] = [
    ("ingest", "ingest items/s / raw decode+hash items/s", lambda run: run.raw_rate),
    ("enrich", "enrichment items/s / the model's raw items/s", lambda run: run.model_rate),
]


def _explore_bound(million: SizeRun | None, largest: SizeRun) -> str:
    bound = f"explore p50 <= {EXPLORE_P50_MS:.0f} ms, p99 <= {EXPLORE_P99_MS:.0f} ms at 1M"
    run = million or largest
    queries: dict[str, dict[str, float]] = run.steps.get("explore", {}).get("queries", {})
    if not queries:
        return f"{bound}: {'MISS' if million else 'not judged'} ({run.error('explore')})"
    p50 = max(queries.items(), key=lambda q: q[1]["p50_ms"])
    p99 = max(queries.items(), key=lambda q: q[1]["p99_ms"])
    seen = (
        f"worst p50 {p50[1]['p50_ms']:.1f} ms ({p50[0]}), worst p99 {p99[1]['p99_ms']:.1f} ms "
        f"({p99[0]})"
    )
    if million is None:
        return f"{bound}: not judged (no 1M run; at {fmt_size(largest.n)}: {seen})"
    passed = p50[1]["p50_ms"] <= EXPLORE_P50_MS and p99[1]["p99_ms"] <= EXPLORE_P99_MS
    return f"{bound}: {seen}  {verdict(passed)}"


def _pair(runs: Sequence[SizeRun]) -> tuple[SizeRun, SizeRun] | None:
    """The sizes the ratio bounds compare: 100k and 1M, else the two largest measured."""
    by_size = {r.n: r for r in runs if not r.failed}
    if 100_000 in by_size and MILLION in by_size:
        return by_size[100_000], by_size[MILLION]
    ordered = sorted(by_size)
    return (by_size[ordered[-2]], by_size[ordered[-1]]) if len(ordered) > 1 else None


def _ratio_bounds(small: SizeRun, large: SizeRun) -> list[str]:
    span = f"{fmt_size(large.n)}/{fmt_size(small.n)}"
    note = "" if (small.n, large.n) == (100_000, MILLION) else " (the bound is for 1M/100k)"
    for run in (small, large):
        if run.error("ingest"):
            return [
                f"cost per item and RSS growth {span}: not judged ({fmt_size(run.n)}: "
                f"{run.error('ingest')})"
            ]
    ratios, missing = [], []
    for line in LINES:
        a, b = small.seconds(line.step, line.key), large.seconds(line.step, line.key)
        name = f"{line.step}{'' if line.key in ('seconds', 'median_ms') else ' ' + line.key}"
        if a is None or b is None or not a:
            missing.append(name)
            continue
        ratios.append((b / a if line.flat else (b / large.n) / (a / small.n), name))
    for name in small.steps.get("explore", {}).get("queries", {}):
        found_a, found_b = small.query(name), large.query(name)
        if found_a and found_b:
            ratios.append((found_b["p50_ms"] / found_a["p50_ms"], f"explore {name}"))
    over = sorted((r for r in ratios if r[0] > RATIO_BOUND), reverse=True)
    text = f"cost per item (per call °) {span} <= {RATIO_BOUND}{note}: "
    text += f"{len(ratios) - len(over)} of {len(ratios)} rows within"
    if over:
        text += "; over: " + ", ".join(f"{name} x{r:.2f}" for r, name in over)
    if missing:
        text += f"; not measured at both: {', '.join(missing)}"
    lines = [f"{text}  {verdict(not over and not missing)}"]
    peak_a, peak_b = small.peak_mb()[0], large.peak_mb()[0]
    growth = peak_b / peak_a
    lines.append(
        f"peak RSS growth {span} <= {RSS_GROWTH_BOUND}{note}: x{growth:.2f} "
        f"({peak_a:.0f} -> {peak_b:.0f} MB)  {verdict(growth <= RSS_GROWTH_BOUND)}"
    )
    return lines
