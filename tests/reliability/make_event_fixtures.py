"""Capture the golden event fixtures that ``test_event_fixtures.py`` loads. Run by hand:

    .venv/bin/python -m tests.reliability.make_event_fixtures [--replace] [--out DIR]

It runs ``realistic_workload`` (from ``test_rebuild_equivalence.py``) on a fresh SQLite data
directory, and for every stored event type of the code (``stored_event_types``: each event
class of each aggregate in ``domain/``, at its ``class_version``, and the library's aggregate
snapshot of each aggregate we snapshot) writes ``fixtures/events/<topic>.v<N>.json``:

- ``type``: the stored topic and class version, the aggregate's topic, and the aggregate's
  ``class_version`` when it was captured (``aggregate_version``);
- ``history``: the stored events of the aggregate with the earliest event of that type, from
  its first event up to that one (or, for a snapshot, the stored snapshot alone), each with
  its store, originator id and version, stored topic and state (the state bytes, decoded
  JSON);
- ``expected_state``: the aggregate after loading that history through the application's
  repository, encoded with the application's transcoder (UUIDs, datetimes, tuples tagged).

By default it only adds fixtures that do not exist yet. It never touches fixtures of older
versions: those keep testing the upcasters. What to do when the golden test fails:

- New event class, or an event's ``class_version`` bumped with its ``upcast_vN_vN+1``: run
  this, read the new file, commit it. The old version's fixture stays, and still loads.
- An aggregate's state changes shape (an attribute added, renamed or regrouped): bump the
  aggregate's ``class_version`` with an ``upcast_vN_vN+1`` on the aggregate class (its stored
  snapshots need it), and run this. Older fixtures keep their ``expected_state``: the test
  brings it to today's shape with that same upcaster, so the state upcaster and the events'
  upcasters are checked against each other.
- A field renamed, dropped or added without an upcaster: that is the bug the test is for.

``--replace`` rewrites the fixtures of current versions. Never use it to make a failure of
an unchanged stored format go away (the golden test would then just agree with the new
code), and review the diff.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from tests.conftest import register
from tests.integration.helpers import settle
from tests.reliability.test_event_fixtures import (
    FIXTURES,
    SNAPSHOT_TOPIC,
    StoredType,
    aggregate_state,
    encode_state,
    stored_event_types,
)
from tests.reliability.test_rebuild_equivalence import realistic_workload

ROOT = Path(__file__).resolve().parents[2]


def record(store: str, event: StoredEvent) -> dict[str, Any]:
    return {
        "store": store,
        "originator_id": str(event.originator_id),
        "originator_version": event.originator_version,
        "topic": event.topic,
        "state": json.loads(event.state),
    }


def first_of(runtime: Runtime, kind: StoredType) -> list[dict[str, Any]]:
    """The history that ends with the earliest stored event of ``kind``."""
    app = runtime.app
    notifications = app.recorder.select_notifications(None, 10_000_000)
    if kind.topic == SNAPSHOT_TOPIC:
        snapshots = app.snapshots
        assert snapshots is not None
        found = [
            e
            for originator in {n.originator_id for n in notifications}
            for e in snapshots.recorder.select_events(originator)
            if json.loads(e.state)["topic"] == kind.aggregate
        ]
        if not found:
            raise SystemExit(f"the workload took no snapshot of {kind.aggregate}")
        return [record("snapshots", min(found, key=lambda e: e.originator_version))]
    matches = [n for n in notifications if n.topic == kind.topic]
    if not matches:
        raise SystemExit(f"the workload wrote no {kind.topic}: extend realistic_workload")
    first = min(matches, key=lambda n: (n.originator_version, n.id))
    events = app.recorder.select_events(first.originator_id, lte=first.originator_version)
    return [record("events", e) for e in events]


def capture(runtime: Runtime, kind: StoredType) -> dict[str, Any]:
    history = first_of(runtime, kind)
    last = history[-1]
    app = runtime.app
    loaded = app.repository.get(UUID(last["originator_id"]), version=last["originator_version"])
    aggregate_version = getattr(type(loaded), "class_version", 1)
    return {
        "type": {
            "topic": kind.topic,
            "class_version": kind.version,
            "aggregate": kind.aggregate,
            "aggregate_version": aggregate_version,
        },
        "captured_by": "tests/reliability/make_event_fixtures.py (realistic_workload, SQLite)",
        "history": history,
        "expected_state": encode_state(app.mapper.transcoder, aggregate_state(loaded)),
    }


def formatted(fixture: dict[str, Any]) -> str:
    """JSON with one stored event per line, so a diff shows which events changed."""
    expected = json.dumps(fixture["expected_state"], indent=1, ensure_ascii=False)
    history = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in fixture["history"])
    return "\n".join(
        [
            "{",
            f' "type": {json.dumps(fixture["type"])},',
            f' "captured_by": {json.dumps(fixture["captured_by"])},',
            ' "history": [',
            history,
            " ],",
            ' "expected_state": ' + expected.replace("\n", "\n "),
            "}",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--replace", action="store_true", help="also rewrite existing fixtures of current versions"
    )
    parser.add_argument("--out", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    kinds = stored_event_types()
    wanted = [k for k in kinds if args.replace or not (args.out / k.file_name).exists()]
    if not wanted:
        print(f"All {len(kinds)} fixtures exist in {args.out}; nothing to do (--replace).")
        return 0
    with tempfile.TemporaryDirectory(prefix="snapset-fixtures-") as tmp:
        (Path(tmp) / "imports").mkdir()
        runtime = build_runtime(
            Settings(
                data_dir=Path(tmp) / "data", lease_seconds=5.0, import_root=Path(tmp) / "imports"
            )
        )
        try:
            alice = register(runtime, "alice@example.com")
            bob = register(runtime, "bob@example.com")
            realistic_workload(runtime, alice, bob, settle)
            args.out.mkdir(parents=True, exist_ok=True)
            for kind in wanted:
                fixture = capture(runtime, kind)
                path = args.out / kind.file_name
                path.write_text(formatted(fixture))
                print(
                    f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                    f" ({len(fixture['history'])} stored events)"
                )
        finally:
            runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
