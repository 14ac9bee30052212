"""The dataset list read model: summaries, counts, status and who may see each dataset."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.runtime import Runtime
from adapters.views.dataset_list import DatasetListView
from application.actor import Actor
from tests.integration.helpers import add_media, edit, ingested, settle


def view_of(runtime: Runtime) -> DatasetListView:
    view = runtime.backend.views["dataset_list"]
    assert isinstance(view, DatasetListView)
    return view


def page(
    runtime: Runtime, user: Actor | None, number: int = 1, size: int = 50
) -> tuple[list[dict[str, Any]], int]:
    runtime.catch_up()
    return view_of(runtime).page(None if user is None else user.user_id, number, size)


def row(runtime: Runtime, dataset_id: UUID) -> dict[str, Any]:
    [found] = [r for r in page(runtime, None)[0] if r["dataset_id"] == str(dataset_id)]
    return found


def test_a_new_dataset_is_listed_with_its_owner_and_source(runtime: Runtime, alice: Actor) -> None:
    dataset_id, _ = runtime.app.create_dataset(alice, "plain", "a description")

    found = row(runtime, dataset_id)

    assert found["name"] == "plain"
    assert found["description"] == "a description"
    assert (found["owner_id"], found["owner_email"]) == (alice.user_id, alice.email)
    assert (found["source_type"], found["source_dataset_id"]) == ("empty", None)
    assert (found["status"], found["n_images"], found["n_videos"]) == ("DRAFT", 0, 0)


def test_status_follows_the_dataset_through_its_tasks(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha", run=False)
    runtime.catch_up()
    indexing = row(runtime, dataset_id)["status"]
    settle(runtime)
    ready = row(runtime, dataset_id)["status"]
    creation = runtime.app.get_dataset(alice, dataset_id).current_checkpoint
    runtime.app.restore_snapshot(alice, dataset_id, creation)
    read_only = row(runtime, dataset_id)["status"]
    settle(runtime)

    assert [indexing, ready, read_only, row(runtime, dataset_id)["status"]] == [
        "INDEXING",
        "READY",
        "READ ONLY",
        "READY",
    ]


def test_a_failed_creation_leaves_the_dataset_in_error(runtime: Runtime, alice: Actor) -> None:
    import_root = runtime.backend.settings.import_root
    assert import_root is not None
    (import_root / "junk").mkdir()
    (import_root / "junk" / "readme.txt").write_text("no media here")
    dataset_id, _ = runtime.app.create_dataset(
        alice, "junk", source={"source": "path", "path": str(import_root / "junk")}
    )

    settle(runtime)

    assert row(runtime, dataset_id)["status"] == "ERROR"


def test_counts_follow_ingest_edits_and_additions(runtime: Runtime, alice: Actor) -> None:
    dataset_id = ingested(runtime, alice, "alpha", images=3, videos=2)
    after_ingest = row(runtime, dataset_id)

    def drop_a_video(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {min(k for k, r in items.items() if r["kind"] == "video"): None}

    edit(runtime, alice, dataset_id, drop_a_video)
    after_edit = row(runtime, dataset_id)
    add_media(runtime, alice, dataset_id, "alpha-more", colors=2)
    settle(runtime)
    after_addition = row(runtime, dataset_id)

    assert (after_ingest["n_images"], after_ingest["n_videos"]) == (3, 2)
    assert (after_edit["n_images"], after_edit["n_videos"]) == (3, 1)
    assert (after_addition["n_images"], after_addition["n_videos"]) == (5, 1)
    assert after_addition["status"] == "READY"


def test_a_user_sees_their_own_and_shared_datasets_only(
    runtime: Runtime, admin: Actor, alice: Actor, bob: Actor
) -> None:
    alpha, _ = runtime.app.create_dataset(alice, "alpha")
    bravo, _ = runtime.app.create_dataset(bob, "bravo")
    charlie, _ = runtime.app.create_dataset(alice, "charlie")

    alice_before = {r["dataset_id"] for r in page(runtime, alice)[0]}
    runtime.app.share_dataset(alice, alpha, bob.email, "viewer")
    bob_rows, bob_total = page(runtime, bob)
    everyone, everyone_total = page(runtime, None)

    assert alice_before == {str(alpha), str(charlie)}
    assert {r["dataset_id"] for r in bob_rows} == {str(alpha), str(bravo)}
    assert bob_total == 2
    assert {r["dataset_id"] for r in everyone} == {str(alpha), str(bravo), str(charlie)}
    assert everyone_total == 3
    with view_of(runtime).store.reading() as sql:
        roles = sql.all("SELECT user_id, role FROM {t}access WHERE dataset_id = ?", (str(alpha),))
    assert sorted((r["user_id"], r["role"]) for r in roles) == sorted(
        [(alice.user_id, "owner"), (bob.user_id, "viewer")]
    )


def test_sharing_again_changes_the_role_in_place(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    alpha, _ = runtime.app.create_dataset(alice, "alpha")
    runtime.app.share_dataset(alice, alpha, bob.email, "viewer")
    runtime.app.share_dataset(alice, alpha, bob.email, "editor")
    runtime.catch_up()

    with view_of(runtime).store.reading() as sql:
        roles = sql.all(
            "SELECT role FROM {t}access WHERE dataset_id = ? AND user_id = ?",
            (str(alpha), bob.user_id),
        )
    assert roles == [{"role": "editor"}]


def test_datasets_are_listed_newest_first_in_pages(runtime: Runtime, alice: Actor) -> None:
    created = [runtime.app.create_dataset(alice, f"d{i}")[0] for i in range(5)]

    pages = [page(runtime, alice, n, 2) for n in (1, 2, 3, 4)]

    assert [total for _, total in pages] == [5] * 4
    assert [len(rows) for rows, _ in pages] == [2, 2, 1, 0]
    assert [r["dataset_id"] for rows, _ in pages for r in rows] == [
        str(d) for d in reversed(created)
    ]


def test_a_clone_is_listed_as_a_dataset_of_the_cloner(
    runtime: Runtime, alice: Actor, bob: Actor
) -> None:
    alpha = ingested(runtime, alice, "alpha", images=2, videos=1)
    runtime.app.share_dataset(alice, alpha, bob.email, "editor")
    snapshot = runtime.app.get_dataset(alice, alpha).current_checkpoint

    _, clone, _ = runtime.app.clone_snapshot(bob, alpha, UUID(snapshot))
    settle(runtime)

    found = row(runtime, clone)
    assert (found["name"], found["owner_email"]) == ("alpha (cloned)", bob.email)
    assert (found["source_type"], found["source_dataset_id"]) == ("clone", str(alpha))
    assert (found["status"], found["n_images"], found["n_videos"]) == ("READY", 2, 1)
    assert str(clone) not in {r["dataset_id"] for r in page(runtime, alice)[0]}
