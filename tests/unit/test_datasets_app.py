"""The Datasets application on in-memory (popo) storage: idempotency, users, access, retries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.actor import Actor
from application.datasets import Datasets, creation_task_id
from application.details import DatasetDetails
from domain.content_tree import EMPTY_ROOT
from domain.errors import (
    Conflict,
    DatasetNotFound,
    Forbidden,
    Invalid,
    SnapshotNotFound,
    UserNotFound,
)
from domain.ids import dataset_id_for_clone
from domain.status import Status
from domain.tasks import MEDIA_ADDITION
from tests.unit.fakes import POPO, DictNodeStore

CREATED = "snapset:Dataset.Created"


@pytest.fixture
def app() -> Datasets:
    return Datasets(nodes=DictNodeStore(), env=POPO)


def register(app: Datasets, email: str, role: str = "user") -> Actor:
    api_key, _ = app.register_user(email, role)
    user = app.get_user_by_api_key(api_key)
    assert user is not None
    return Actor(str(user.id), user.email, user.is_admin)


@pytest.fixture
def alice(app: Datasets) -> Actor:
    return register(app, "alice@example.com")


@pytest.fixture
def bob(app: Datasets) -> Actor:
    return register(app, "bob@example.com")


def topics(app: Datasets, aggregate_id: UUID) -> list[str]:
    return [
        e.topic.removeprefix("snapset:Dataset.") for e in app.recorder.select_events(aggregate_id)
    ]


def versions(app: Datasets, aggregate_id: UUID) -> list[int]:
    return [e.originator_version for e in app.recorder.select_events(aggregate_id)]


def created_dataset_ids(app: Datasets) -> list[UUID]:
    return [
        UUID(str(n.originator_id))
        for n in app.recorder.select_notifications(start=None, limit=1000, topics=[CREATED])
    ]


def ready_dataset(app: Datasets, actor: Actor, n: int = 5) -> UUID:
    """A dataset whose creation task published ``n`` items (the worker's part done by hand)."""
    dataset_id, _ = app.create_dataset(actor, "cats", source={"source": "path", "path": "/x"})
    task_id = str(creation_task_id(dataset_id))
    root = app.tree.build((f"m{i}", {"kind": "image", "i": i}) for i in range(n))
    app.claim_task(dataset_id, task_id, "w1", 30)
    app.complete_operation(dataset_id, task_id, "w1", root, Status.READY.value)
    return dataset_id


# Idempotent commands.


def test_creating_a_dataset_twice_with_one_id_makes_one_dataset(
    app: Datasets, alice: Actor
) -> None:
    chosen = uuid4()
    first, _ = app.create_dataset(alice, "cats", dataset_id=chosen)
    second, _ = app.create_dataset(alice, "cats", dataset_id=chosen)
    assert first == second == chosen
    assert created_dataset_ids(app) == [chosen]
    assert topics(app, chosen) == ["Created"]


def test_creating_a_dataset_with_a_source_twice_starts_one_creation_task(
    app: Datasets, alice: Actor
) -> None:
    chosen = uuid4()
    source = {"source": "path", "path": "/imports/cats"}
    app.create_dataset(alice, "cats", source=source, dataset_id=chosen)
    app.create_dataset(alice, "cats", source=source, dataset_id=chosen)
    assert topics(app, chosen) == ["Created", "OperationStarted"]
    dataset = app.get_dataset(alice, chosen)
    assert dataset.status == Status.INDEXING
    assert dataset.active_task is not None
    assert dataset.active_task["task_id"] == str(creation_task_id(chosen))
    assert dataset.active_task["params"] == source


def test_a_dataset_without_a_source_stays_draft(app: Datasets, alice: Actor) -> None:
    dataset_id, position = app.create_dataset(alice, "cats", "about cats")
    dataset = app.get_dataset(alice, dataset_id)
    assert (dataset.status, dataset.description, dataset.current["root"]) == (
        Status.DRAFT,
        "about cats",
        EMPTY_ROOT,
    )
    assert dataset.active_task is None
    assert position == app.position()


def test_creating_a_snapshot_twice_with_one_id_creates_one_checkpoint(
    app: Datasets, alice: Actor
) -> None:
    dataset_id = ready_dataset(app, alice)
    chosen = uuid4()
    first = app.create_snapshot(alice, dataset_id, "one", snapshot_id=chosen).result.snapshot_id
    second = app.create_snapshot(alice, dataset_id, "one", snapshot_id=chosen).result.snapshot_id
    assert first == second == chosen
    assert topics(app, dataset_id).count("SnapshotCreated") == 1
    dataset = app.get_dataset(alice, dataset_id)
    assert [r["reason"] for r in dataset.checkpoints.values()] == ["creation", "manual"]
    assert dataset.current_checkpoint == str(chosen)


def test_restoring_twice_with_one_task_id_starts_one_task(app: Datasets, alice: Actor) -> None:
    dataset_id = ready_dataset(app, alice)
    task_id = uuid4()
    first, _ = app.restore_snapshot(alice, dataset_id, "current", task_id=task_id)
    second, _ = app.restore_snapshot(alice, dataset_id, "current", task_id=task_id)
    assert first == second == task_id
    assert topics(app, dataset_id).count("RestoreStarted") == 1
    task = app.get_dataset(alice, dataset_id).active_task
    assert task is not None
    assert (task["task_id"], task["status"]) == (str(task_id), "INITIALIZING")


def test_a_clone_preview_names_the_new_dataset_by_the_real_guard_and_saves_nothing(
    app: Datasets, alice: Actor, bob: Actor
) -> None:
    dataset_id = ready_dataset(app, alice)
    snapshot_id = UUID(str(app.get_dataset(alice, dataset_id).current_checkpoint))
    position = app.position()

    preview = app.preview_clone(alice, dataset_id, snapshot_id)

    assert (preview.dataset_name, preview.snapshot_id, preview.n_images) == (
        "cats (cloned)",
        snapshot_id,
        5,
    )
    assert app.position() == position, "a preview stores nothing"
    with pytest.raises(DatasetNotFound):
        app.preview_clone(bob, dataset_id, snapshot_id)
    app.share_dataset(alice, dataset_id, bob.email, "viewer")
    with pytest.raises(Forbidden):
        app.preview_clone(bob, dataset_id, snapshot_id)
    with pytest.raises(SnapshotNotFound):
        app.preview_clone(alice, dataset_id, uuid4())


def test_cloning_twice_with_one_task_id_starts_one_clone(
    app: Datasets, alice: Actor, bob: Actor
) -> None:
    dataset_id = ready_dataset(app, alice)
    app.share_dataset(alice, dataset_id, bob.email, "editor")
    snapshot_id = UUID(str(app.get_dataset(alice, dataset_id).current_checkpoint))
    task_id = uuid4()
    first = app.clone_snapshot(bob, dataset_id, snapshot_id, task_id=task_id)
    second = app.clone_snapshot(bob, dataset_id, snapshot_id, task_id=task_id)
    assert first[:2] == second[:2] == (task_id, dataset_id_for_clone(str(task_id)))
    clone_id = first[1]
    assert created_dataset_ids(app) == [dataset_id, clone_id]
    assert topics(app, dataset_id).count("CloneRequested") == 1
    assert topics(app, clone_id) == ["Created", "CloneStarted"]
    clone = app.get_dataset(bob, clone_id)
    assert (clone.name, clone.owner_id, clone.source_dataset_id) == (
        "cats (cloned)",
        bob.user_id,
        dataset_id,
    )
    with pytest.raises(DatasetNotFound):
        app.get_dataset(alice, clone_id)  # fully independent: owned by the caller only


def test_starting_an_operation_twice_with_one_task_id_starts_one_task(
    app: Datasets, alice: Actor
) -> None:
    dataset_id = ready_dataset(app, alice)
    task_id = uuid4()
    app.start_operation(alice, dataset_id, MEDIA_ADDITION, {"n": 1}, task_id=task_id)
    app.start_operation(alice, dataset_id, MEDIA_ADDITION, {"n": 1}, task_id=task_id)
    assert topics(app, dataset_id).count("OperationStarted") == 2  # creation, then this one
    assert app.get_dataset(alice, dataset_id).status == Status.READ_ONLY


# Users.


def test_a_registered_user_is_found_by_api_key_and_by_email(app: Datasets) -> None:
    api_key, api_secret = app.register_user("Carol@Example.com")
    assert api_key
    assert api_secret
    assert api_key != api_secret
    by_key = app.get_user_by_api_key(api_key)
    assert by_key is not None
    assert (by_key.email, by_key.role, by_key.api_secret) == (
        "Carol@Example.com",
        "user",
        api_secret,
    )
    assert app.get_user_by_email("carol@example.com").id == by_key.id
    assert app.get_user_by_email(" CAROL@example.com ").id == by_key.id
    assert app.has_user("carol@example.com")


def test_keys_and_secrets_are_safe_to_pass_on_a_command_line(app: Datasets) -> None:
    # A secret starting with "-" is read by argparse as an option: `snapset token
    # --api-secret -x...` then fails. token_urlsafe did that one time in 64.
    for n in range(3):
        api_key, api_secret = app.register_user(f"user{n}@example.com")
        assert re.fullmatch(r"[0-9a-f]{32}", api_key)
        assert re.fullmatch(r"[0-9a-f]{64}", api_secret)


def test_an_unknown_api_key_or_email_finds_no_user(app: Datasets) -> None:
    register(app, "carol@example.com")
    assert app.get_user_by_api_key("0" * 32) is None
    with pytest.raises(UserNotFound):
        app.get_user_by_email("dave@example.com")
    assert not app.has_user("dave@example.com")


def test_registering_an_email_twice_is_a_conflict(app: Datasets) -> None:
    first_key, _ = app.register_user("carol@example.com")
    with pytest.raises(Conflict):
        app.register_user("CAROL@example.com")
    assert app.get_user_by_email("carol@example.com").api_key == first_key


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("not-an-email", "user"),
        ("a b@example.com", "user"),
        ("ok@example.com", "root"),
    ],
)
def test_registering_with_a_bad_email_or_role_is_invalid(
    app: Datasets, email: str, role: str
) -> None:
    with pytest.raises(Invalid):
        app.register_user(email, role)
    assert not app.has_user(email)


# Access: strangers see nothing, viewers cannot write.


STRANGER_COMMANDS: dict[str, Callable[[Datasets, Actor, UUID, UUID], Any]] = {
    "get": lambda app, a, d, s: app.get_dataset(a, d),
    "create snapshot": lambda app, a, d, s: app.create_snapshot(a, d, "x"),
    "update snapshot": lambda app, a, d, s: app.update_snapshot(a, d, s, "x", None),
    "delete snapshot": lambda app, a, d, s: app.delete_snapshot(a, d, s),
    "restore": lambda app, a, d, s: app.restore_snapshot(a, d, str(s)),
    "clone": lambda app, a, d, s: app.clone_snapshot(a, d, s),
    "share": lambda app, a, d, s: app.share_dataset(a, d, a.email, "owner"),
    "operation": lambda app, a, d, s: app.start_operation(a, d, MEDIA_ADDITION, {}),
}


@pytest.mark.parametrize("command", STRANGER_COMMANDS.values(), ids=STRANGER_COMMANDS.keys())
def test_a_user_without_a_role_gets_not_found_never_forbidden(
    app: Datasets, alice: Actor, bob: Actor, command: Callable[..., Any]
) -> None:
    dataset_id = ready_dataset(app, alice)
    snapshot_id = UUID(str(app.get_dataset(alice, dataset_id).current_checkpoint))
    before = versions(app, dataset_id)
    with pytest.raises(DatasetNotFound):
        command(app, bob, dataset_id, snapshot_id)
    assert versions(app, dataset_id) == before


@pytest.mark.parametrize(
    "command",
    [c for name, c in STRANGER_COMMANDS.items() if name != "get"],
    ids=[name for name in STRANGER_COMMANDS if name != "get"],
)
def test_a_viewer_who_writes_gets_forbidden(
    app: Datasets, alice: Actor, bob: Actor, command: Callable[..., Any]
) -> None:
    dataset_id = ready_dataset(app, alice)
    app.share_dataset(alice, dataset_id, bob.email, "viewer")
    snapshot_id = UUID(str(app.get_dataset(alice, dataset_id).current_checkpoint))
    before = versions(app, dataset_id)
    assert app.get_dataset(bob, dataset_id).id == dataset_id
    with pytest.raises(Forbidden):
        command(app, bob, dataset_id, snapshot_id)
    assert versions(app, dataset_id) == before


def test_an_editor_may_write_but_not_share_and_an_admin_may_do_both(
    app: Datasets, alice: Actor, bob: Actor
) -> None:
    admin = register(app, "admin@example.com", "admin")
    dataset_id = ready_dataset(app, alice)
    app.share_dataset(alice, dataset_id, bob.email, "editor")
    app.create_snapshot(bob, dataset_id, "by bob")
    with pytest.raises(Forbidden):
        app.share_dataset(bob, dataset_id, "admin@example.com", "viewer")
    app.share_dataset(admin, dataset_id, bob.email, "owner")
    app.create_snapshot(admin, dataset_id, "by admin")
    dataset = app.get_dataset(admin, dataset_id)
    assert dataset.roles[bob.user_id] == "owner"
    assert sorted(r["name"] for r in dataset.checkpoints.values() if r["reason"] == "manual") == [
        "by admin",
        "by bob",
    ]


def test_an_unknown_dataset_is_not_found(app: Datasets, alice: Actor) -> None:
    with pytest.raises(DatasetNotFound):
        app.get_dataset(alice, uuid4())
    user = app.get_user_by_email(alice.email)
    with pytest.raises(DatasetNotFound):
        app.get_dataset(alice, user.id)  # another aggregate's id is not a dataset


# Optimistic concurrency: conflicting saves are re-decided on a fresh load.


def test_a_conflicting_save_is_re_decided_on_a_fresh_load_and_applied_once(
    app: Datasets, alice: Actor, bob: Actor
) -> None:
    dataset_id = ready_dataset(app, alice)
    seen: list[tuple[int, str]] = []

    def edit(dataset: DatasetDetails) -> dict[str, Any]:
        seen.append((dataset.revision, dataset.roles.get(bob.user_id, "-")))
        if len(seen) == 1:  # someone else saves a change between our load and our save
            other = app.repository.get(dataset_id)
            other.share(bob.user_id, bob.email, "viewer", alice.email)
            app.save(other)
        return {"m-new": {"kind": "video"}}

    app.edit_items(alice, dataset_id, edit, "add a video")

    assert len(seen) == 2
    assert seen[1][0] == seen[0][0] + 1  # the second decision saw the other change
    assert seen[1][1] == "viewer"
    dataset = app.get_dataset(alice, dataset_id)
    assert (dataset.current["n_images"], dataset.current["n_videos"]) == (5, 1)
    assert dataset.roles[bob.user_id] == "viewer"
    assert topics(app, dataset_id).count("ContentEdited") == 1
    assert versions(app, dataset_id) == list(range(1, dataset.revision + 1))


def test_a_dataset_changed_by_others_on_every_attempt_gives_a_conflict(
    app: Datasets, alice: Actor, bob: Actor
) -> None:
    dataset_id = ready_dataset(app, alice)
    attempts = 0

    def edit(dataset: DatasetDetails) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        other = app.repository.get(dataset_id)
        other.share(bob.user_id, bob.email, "viewer" if attempts % 2 else "editor", alice.email)
        app.save(other)
        return {f"m-{attempts}": {"kind": "image"}}

    with pytest.raises(Conflict):
        app.edit_items(alice, dataset_id, edit, "never lands")
    assert attempts > 1
    assert "ContentEdited" not in topics(app, dataset_id)
    dataset = app.get_dataset(alice, dataset_id)
    assert versions(app, dataset_id) == list(range(1, dataset.revision + 1))


def test_a_command_returns_the_position_of_its_last_event(app: Datasets, alice: Actor) -> None:
    dataset_id = ready_dataset(app, alice)
    _, position = app.create_snapshot(alice, dataset_id, "one")
    assert position == app.position()
    last = app.recorder.select_notifications(start=position, limit=1)[0]
    assert last.topic == "snapset:Dataset.SnapshotCreated"
