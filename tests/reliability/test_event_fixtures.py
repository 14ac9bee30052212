"""Golden fixtures: every stored event type and version still loads into the same aggregate.

``fixtures/events/*.json`` hold, for every event class of every aggregate in ``domain/``
(found by introspection) and for the library's aggregate snapshots of the aggregates we
snapshot, the stored events a real run wrote: each one's stored topic and its state bytes
(decoded JSON), from the aggregate's first event up to one of that type, and the aggregate's
state after loading them, as the code of that day saw it. ``make_event_fixtures.py`` (run by
hand) writes them; this module never writes them.

- ``test_a_fixture_loads_into_the_state_it_was_captured_with``: each fixture's events go into
  our real recorders (SQLite file; PostgreSQL schema) and are loaded through the application's
  repository (mapper, transcoder, upcasters, the ``@event`` bodies): the aggregate must equal
  the fixture's expected state. Renaming or adding an event field without an upcaster,
  changing what an ``@event`` body does with it, or adding an attribute to an aggregate
  (its stored snapshots lack it) fails here. A fixture captured when the aggregate had an
  older ``class_version`` (``type.aggregate_version``, 1 when absent) holds the state as that
  code saw it: it is compared after the aggregate's own upcasters (those of its stored
  snapshots) bring it to today's shape, so the events' upcasters and the state's must agree.
- ``test_every_stored_event_decodes_to_exactly_the_fields_its_class_has_now``: each stored
  event, decoded and upcast, has exactly its class's fields now; loading alone would not
  notice a field dropped from an ``@event`` method (the library ignores stored keys the
  method does not take).
- ``test_every_event_type_in_the_code_has_a_fixture_of_its_current_version``: the set of
  (topic, class version) in the code equals the set the fixtures cover at their newest
  version, so a new event type, or a ``class_version`` bump, needs a fixture; and no fixture
  is of a type the code no longer has (its stored events could no longer load). Fixtures of
  older versions stay, so upcasters keep being tested.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
import pytest
from eventsourcing.domain import Aggregate, DomainEvent, Snapshot
from eventsourcing.persistence import StoredEvent, Transcoder
from eventsourcing.utils import get_topic

import domain
from adapters.backend import Backend, open_backend
from adapters.settings import Settings
from application.datasets import Datasets
from tests.conftest import BACKENDS, BASE_URL

pytestmark = pytest.mark.reliability

FIXTURES = Path(__file__).parent / "fixtures" / "events"
SNAPSHOT_TOPIC = get_topic(Snapshot)


class StoredType(NamedTuple):
    """One kind of stored event: its topic, class version, and the aggregate it belongs to."""

    topic: str
    version: int
    aggregate: str

    @property
    def file_name(self) -> str:
        what = self.topic if self.topic != SNAPSHOT_TOPIC else f"{self.topic}.{self.aggregate}"
        return f"{what.replace(':', '_')}.v{self.version}.json"


def aggregate_classes() -> list[type[Aggregate]]:
    """Every aggregate class defined in a ``domain`` module."""
    found: list[type[Aggregate]] = []
    for info in pkgutil.iter_modules(domain.__path__, "domain."):
        module = importlib.import_module(info.name)
        found.extend(
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Aggregate)
            and obj.__module__ == module.__name__
        )
    return sorted(found, key=get_topic)


def event_classes(aggregate: type[Aggregate]) -> list[type[DomainEvent]]:
    """The aggregate's own event classes (not its ``Event`` base, which is never stored)."""
    return [
        obj
        for name, obj in vars(aggregate).items()
        if isinstance(obj, type)
        and issubclass(obj, DomainEvent)
        and obj is not aggregate.Event
        and not issubclass(obj, Snapshot)
        and name != "Event"
    ]


def stored_event_types() -> list[StoredType]:
    """Every (topic, class version) the code can store, with its aggregate's topic."""
    types: list[StoredType] = []
    for aggregate in aggregate_classes():
        owner = get_topic(aggregate)
        types.extend(
            StoredType(get_topic(cls), getattr(cls, "class_version", 1), owner)
            for cls in event_classes(aggregate)
        )
        if aggregate in Datasets.snapshotting_intervals:
            types.append(StoredType(SNAPSHOT_TOPIC, getattr(aggregate, "class_version", 1), owner))
    return sorted(types)


def load_fixtures() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}


def fixture_type(fixture: dict[str, Any]) -> StoredType:
    kind = fixture["type"]
    return StoredType(kind["topic"], kind["class_version"], kind["aggregate"])


def aggregate_state(aggregate: Any) -> dict[str, Any]:
    """What loading gives: every attribute but the list of not-yet-saved events."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def upcast_state(cls: type[Any], state: dict[str, Any], version: int) -> dict[str, Any]:
    """An aggregate's state as code of class version ``version`` held it, brought to today's
    by the aggregate's upcasters (as the library does for a stored snapshot)."""
    state = dict(state)
    while version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


def encode_state(transcoder: Transcoder, state: Any) -> Any:
    """Plain JSON for a state, with the transcoder's tags for UUIDs, datetimes and tuples."""
    return json.loads(transcoder.encode(state))


def decode_state(transcoder: Transcoder, data: Any) -> Any:
    return transcoder.decode(json.dumps(data).encode())


def stored(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(record["originator_id"]),
        originator_version=record["originator_version"],
        topic=record["topic"],
        state=json.dumps(record["state"], separators=(",", ":"), ensure_ascii=False).encode(),
    )


def merged_histories(
    fixtures: dict[str, dict[str, Any]],
) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Every fixture's stored events, once each; fixtures of one aggregate overlap, and
    where they do they must agree."""
    merged: dict[tuple[str, str, int], dict[str, Any]] = {}
    for name, fixture in fixtures.items():
        for record in fixture["history"]:
            key = (record["store"], record["originator_id"], record["originator_version"])
            if merged.setdefault(key, record) != record:
                raise AssertionError(f"{name} disagrees with another fixture at {key}")
    return merged


@pytest.fixture(scope="module", params=BACKENDS)
def golden(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """One backend per database holding every fixture's stored events."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{BASE_URL}?schema={schema}" if request.param == "postgres" else ""
    backend = open_backend(Settings(data_dir=tmp_path_factory.mktemp("golden"), database_url=url))
    try:
        snapshots = backend.app.snapshots
        assert snapshots is not None
        records = sorted(
            merged_histories(load_fixtures()).values(),
            key=lambda r: (r["store"], r["originator_id"], r["originator_version"]),
        )
        for record in records:
            recorder = (
                snapshots.recorder if record["store"] == "snapshots" else backend.app.recorder
            )
            recorder.insert_events([stored(record)])
        yield backend
    finally:
        backend.close()
        if url:
            with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize("name", sorted(load_fixtures()))
def test_a_fixture_loads_into_the_state_it_was_captured_with(golden: Backend, name: str) -> None:
    fixture = load_fixtures()[name]
    last = fixture["history"][-1]
    app = golden.app
    transcoder = app.mapper.transcoder

    loaded = app.repository.get(UUID(last["originator_id"]), version=last["originator_version"])

    assert get_topic(type(loaded)) == fixture["type"]["aggregate"]
    expected = decode_state(transcoder, fixture["expected_state"])
    captured_with = fixture["type"].get("aggregate_version", 1)
    assert aggregate_state(loaded) == upcast_state(type(loaded), expected, captured_with)


def test_every_stored_event_decodes_to_exactly_the_fields_its_class_has_now(
    golden: Backend,
) -> None:
    """Loading ignores stored keys an ``@event`` method no longer takes, so a dropped or
    renamed field could pass the state check: after decoding (and upcasting), an event must
    have exactly its class's fields, no more, no fewer."""
    mapper = golden.app.mapper
    checked = set()
    for name, fixture in load_fixtures().items():
        for record in fixture["history"]:
            if record["store"] != "events":
                continue
            event = mapper.to_domain_event(stored(record))
            fields = {f.name for f in dataclasses.fields(type(event))}  # type: ignore[arg-type]
            assert set(vars(event)) == fields, (name, record["topic"])
            checked.add(record["topic"])
    assert checked == {t.topic for t in stored_event_types() if t.topic != SNAPSHOT_TOPIC}


def test_every_event_type_in_the_code_has_a_fixture_of_its_current_version() -> None:
    in_code = set(stored_event_types())
    covered = {fixture_type(f) for f in load_fixtures().values()}
    newest: dict[tuple[str, str], int] = {}
    for kind in covered:
        key = (kind.topic, kind.aggregate)
        newest[key] = max(newest.get(key, 0), kind.version)

    assert in_code, "introspection found no event classes"
    assert {StoredType(t, v, a) for (t, a), v in newest.items()} == in_code
    for kind in covered:  # older versions: kept for their upcasters, never ahead of the code
        assert any(
            c.topic == kind.topic and c.aggregate == kind.aggregate and c.version >= kind.version
            for c in in_code
        ), kind


def test_each_fixture_file_is_named_for_the_type_it_holds() -> None:
    fixtures = load_fixtures()
    assert fixtures
    for name, fixture in fixtures.items():
        assert fixture_type(fixture).file_name == name
        assert fixture["history"][-1]["topic"] == fixture["type"]["topic"]
        assert fixture["history"][-1]["store"] == (
            "snapshots" if fixture["type"]["topic"] == SNAPSHOT_TOPIC else "events"
        )
