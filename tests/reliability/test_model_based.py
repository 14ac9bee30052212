"""Model-based test: random sequences of API calls by two users keep to API.md's rules.

A hypothesis state machine creates datasets (with and without media, with snapshots on and
off), shares them (owner, editor, viewer), creates, edits, removes, restores and clones
snapshots, adds media, re-indexes, enriches, edits tags and labels in batches, aborts and
retries tasks, and reads datasets, snapshot lists, media (now and at a snapshot) and tasks.
Every call's status code and the fields it answers are checked against an in-memory model of
API.md (tests/reliability/api_model.py).

Tasks are run by a *held* worker: the server runs without one (API and projections only), and
the test runs the real `Worker` against the same storage exactly when its `run_task` rule
says so. So the model always knows whether a task still runs, and the 409s it predicts for
calls made meanwhile are deterministic, never a race.

One server per backend per module (PostgreSQL: 500 sequences; SQLite: 200; 10 steps each).
Users are registered once; each sequence makes its own datasets, so sequences are
independent (the per-user quota of unfinished tasks, which is no part of API.md, is set out
of reach). Hypothesis runs derandomized with no example database: CI explores the same
sequences on every run, so a failure reproduces exactly and no run depends on what an earlier
run saved. The test fails if hypothesis ran fewer sequences than asked, and writes what every
step's verdict was to test-artifacts/reliability/model-based-<backend>.json. Locally,
SNAPSET_MODEL_SEED=<int> explores other sequences (hypothesis prints how to replay a failure)
and SNAPSET_MODEL_EXAMPLES=<n> changes how many.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import hypothesis
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from tests.conftest import BACKENDS, BASE_URL
from tests.reliability import api_model as m
from tests.reliability.api_model import Dataset, Model, Refusal, Snapshot, Task, Upload
from tests.support.client import SnapsetClient
from tests.support.media import photo, video
from tests.support.server import ServerProcess, free_port

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

EXAMPLES = {"postgres": 500, "sqlite": 200}
STEPS = 10  # per sequence, the initial dataset included; sized for ~3 minutes in CI
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "reliability"
NAIVE_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
SNAPSHOT_FIELDS = {
    "snapshot_id",
    "snapshot_name",
    "source_dataset_name",
    "created_at",
    "created_by",
    "n_images",
    "n_videos",
    "description",
    "reason",
    "training_model_id",
    "training_model_name",
    "is_current",
    "is_restoring",
}
USERS = ("alice", "bob")
# Who acts: Alice (who made the first dataset) twice as often as Bob, whose role varies.
ACTOR = st.sampled_from(["alice", "bob", "alice"])
MEDIA = {  # what an upload holds: readable images and videos, and unreadable files
    "image": ("image",),
    "images": ("image", "image"),
    "mixed": ("image", "video"),
    "video": ("video",),
    "with-broken": ("image", "broken"),
    "broken": ("broken",),
}
DATASET_NAMES = ("cats", " dogs ", "birds é", "   ")
SNAPSHOT_NAMES = (None, "v1", "", "  padded  ", "v2", "   ", "n" * 201)
NEW_NAMES = (None, "renamed", " trimmed ", None, "v3", "  ", "n" * 201)
NEW_DESCRIPTIONS = ("new words", None, "")
RARELY = st.sampled_from([False, False, False, False, False, True])
DESCRIPTIONS = (None, "", "first cut", " spaced ")
TAGS = ("red", "blue", "two words")
CLASSES = ("cat", "dog")
# How a rule names a snapshot: a live one (not the current one, if there are others), the
# current one, the literal `current` (which only restore accepts), the one being restored, a
# deleted one, or an id no snapshot has.
PICKS = ("live", "current", "live", "literal-current", "live", "restoring", "deleted", "unknown")
# The rule of every step that names a snapshot of a dataset and nothing else.
snapshot_rule = rule(
    user=ACTOR, which=st.integers(0, 5), pick=st.sampled_from(PICKS), index=st.integers(0, 5)
)

# The server, without a worker: the HTTP API and the projections only. `snapset serve`
# runs a worker too (embedded) or neither (--api-only), so the test starts the same app
# the CLI does with the one difference it needs.
LAUNCH = """
import sys
from pathlib import Path

import uvicorn

from adapters.http.app import create_app
from adapters.runtime import build_runtime
from adapters.settings import Settings

port, data_dir, import_root = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
settings = Settings.from_env(data_dir=data_dir, import_root=import_root)
runtime = build_runtime(settings, limit_tasks=True)
app = create_app(runtime, settings, run_projections=True, run_worker=False)
print("snapset serving on", port, flush=True)
try:
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
finally:
    runtime.close()
"""


# The stack: one server and one held worker per backend for the module.


@dataclass
class Stats:
    sequences: int = 0
    steps: int = 0
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class MediaFiles:
    """Fresh, distinct media files: every upload gets files no dataset has had, so no two
    items are near-duplicates (the model never predicts clusters)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def make(self, kind: str) -> tuple[Upload, bytes]:
        self.count += 1
        number = self.count
        if kind == "image":
            path = photo(self.folder / f"m{number:06d}.png", seed=number, width=32, height=32)
        elif kind == "video":
            path = video(self.folder / f"m{number:06d}.mp4", b"video-%d" % number)
        else:
            path = self.folder / f"m{number:06d}.png"
            path.write_bytes(b"not an image %d" % number)
        data = path.read_bytes()
        path.unlink()
        return Upload(path.name, kind), data


@dataclass
class Stack:
    backend: str
    server: ServerProcess
    runtime: Runtime
    clients: dict[str, SnapsetClient]
    emails: dict[str, str]
    enrichment_models: dict[str, tuple[str, str]]
    media: MediaFiles
    stats: Stats = field(default_factory=Stats)


def _launch(tmp: Path, database_url: str) -> ServerProcess:
    port = free_port()
    # The per-user quota of unfinished tasks (429) is not part of API.md's model; sequences
    # leave tasks waiting on purpose, so it is set out of reach.
    env = {**os.environ, "SNAPSET_DATABASE_URL": database_url, "SNAPSET_MAX_OPEN_TASKS": "1000000"}
    with (tmp / "server.log").open("w") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(port), str(tmp / "data"), str(tmp / "imports")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            text=True,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", "", "", process, tmp / "data", env)
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=server.base_url, timeout=1) as http:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if http.get("/healthz").status_code == 200:
                    return server
            except httpx.TransportError:
                time.sleep(0.05)  # not listening yet: nothing to wait on but time
    server.stop()
    raise RuntimeError("snapset did not start:\n" + (tmp / "server.log").read_text())


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp(f"model-{request.param}")
    (tmp / "imports").mkdir()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{BASE_URL}?schema={schema}" if request.param == "postgres" else ""
    server = _launch(tmp, url)
    runtime = build_runtime(
        Settings(data_dir=tmp / "data", database_url=url, import_root=tmp / "imports")
    )
    clients, emails = {}, {}
    for user in USERS:
        emails[user] = f"{user}@example.com"
        key, secret = runtime.app.register_user(emails[user], "user")
        clients[user] = SnapsetClient(server.base_url, key, secret)
    probe = clients["alice"].create_dataset("probe")
    models = clients["alice"].ok("GET", f"/enrichment/{probe}/list_models")["models"]
    enrichment = {x["type"]: (x["model_id"], x["media_kinds"][0]) for x in models}
    assert all(len(x["media_kinds"]) == 1 for x in models), models
    assert m.HASH_TYPE in enrichment, enrichment
    built = Stack(
        request.param, server, runtime, clients, emails, enrichment, MediaFiles(tmp / "media")
    )

    def counted(_: httpx.Request) -> None:
        built.stats.requests += 1

    for client in clients.values():
        client.http.event_hooks["request"].append(counted)
    (tmp / "media").mkdir()
    try:
        yield built
    finally:
        for client in clients.values():
            client.close()
        server.stop()
        runtime.close()
        if url:
            with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# The state machine.


def refused(response: httpx.Response, expected: Refusal, what: str) -> None:
    """The answer is the model's code; an error is a JSON {"detail": "<sentence>"}."""
    assert response.status_code == expected.code, (
        f"{what}: the model expects {expected.code} ({expected.why}), the service answered "
        f"{response.status_code}: {response.text[:500]}"
    )
    if expected.code >= 400:
        body = response.json()
        assert isinstance(body.get("detail"), str), body
        assert body["detail"].strip(), body
        assert set(body) <= {"detail", "errors"}, body


def accepted(expected: Refusal) -> Refusal:
    """A task-starting command: the model's "allowed" is 202 Accepted."""
    return Refusal(202, "accepted: a task starts") if expected.code == 200 else expected


def given(name: str | None, description: str | None) -> dict[str, str]:
    """A snapshot body with the fields a rule chose to send (None: left out)."""
    return {k: v for k, v in (("name", name), ("description", description)) if v is not None}


class ApiMachine(RuleBasedStateMachine):
    stack: ClassVar[Stack]

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.stack.emails, self.stack.enrichment_models)

    def teardown(self) -> None:
        self.stack.stats.sequences += 1

    # Plumbing.

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.stack.clients[user].request(method, path, **kwargs)

    def count(self, rule_name: str, outcome: str = "checked") -> None:
        self.stack.stats.steps += 1
        self.stack.stats.outcomes[f"{rule_name}: {outcome}"] += 1

    def expect(self, rule_name: str, response: httpx.Response, expected: Refusal) -> None:
        """Count the step by the model's verdict, then check the service agrees."""
        self.count(rule_name, f"{expected.code} {expected.why}")
        refused(response, expected, rule_name)

    def pick(self, which: int) -> Dataset:
        """A dataset of the sequence; ``which`` in 0..5 names the first one two times in
        three, so the steps of a sequence meet more often on one dataset."""
        return self.model.datasets[max(0, which - 2) % len(self.model.datasets)]

    def someone_on(self, ds: Dataset) -> str:
        """A user with a role on ``ds`` (its creator always has one), to read it with."""
        return ds.creator

    def snapshot_id(self, ds: Dataset, kind: str, which: int) -> str:
        live = [
            s.snapshot_id for s in ds.snapshots if not s.deleted and s.snapshot_id != ds.current
        ] or ([ds.current] if ds.current else [])
        deleted = [s.snapshot_id for s in ds.snapshots if s.deleted]
        if kind == "literal-current":
            return "current"
        if kind == "current" and ds.current is not None:
            return ds.current
        if kind == "restoring" and ds.restoring is not None:
            return ds.restoring
        chosen = {"live": live, "restoring": live, "deleted": deleted}.get(kind) or []
        return chosen[which % len(chosen)] if chosen else str(uuid.uuid4())

    def media_ids(self, ds: Dataset, which: list[int], ghost: bool) -> list[str]:
        known = sorted(ds.content, key=lambda k: ds.content[k].file_name)  # stable on replay
        ids = [known[i % len(known)] for i in which] if known else []
        return [*ids, "no-such-media"] if ghost or not ids else ids

    def upload(self, media: str) -> tuple[tuple[Upload, ...], list[tuple[str, Any]]]:
        made = [self.stack.media.make(kind) for kind in MEDIA[media]]
        return (tuple(u for u, _ in made), [("files", (u.name, data)) for u, data in made])

    def learn_new_snapshot(
        self, ds: Dataset, expected: bool, reason: str
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
        """The snapshot the service just took (auto, creation, clone) if the model expects
        one, and the list it was learned from; checks that exactly that many new snapshots
        appeared. Compare the list with the model once the model knows the new one."""
        if not ds.snapshot_support:
            return None, None
        known = {s.snapshot_id for s in ds.snapshots}
        listed = self.fetch_snapshots(ds, self.someone_on(ds))
        assert listed is not None
        new = [s for s in listed if s["snapshot_id"] not in known]
        assert len(new) == int(expected), (
            f"expected {int(expected)} new {reason} snapshot(s), found {new}"
        )
        if not expected:
            return None, listed
        assert new[0]["reason"] == reason, new
        return new[0], listed

    def learn_auto_snapshot(
        self, ds: Dataset
    ) -> tuple[tuple[str, str] | None, list[dict[str, Any]] | None]:
        """After a restore or an operation started: the `auto` snapshot the model expects
        (its id, and its description: an extension, worded by the service), and the list."""
        new, listed = self.learn_new_snapshot(ds, self.model.auto_snapshot_due(ds), "auto")
        if new is None:
            return None, listed
        assert isinstance(new["description"], str), new
        assert new["description"].strip(), new
        return (str(new["snapshot_id"]), new["description"]), listed

    # Checks against the model.

    def check_dataset(self, ds: Dataset, user: str) -> None:
        response = self.call(user, "GET", f"/dataset/{ds.dataset_id}")
        if ds.role(user) is None:
            refused(response, Refusal(404, "no role"), "GET dataset")
            return
        refused(response, m.OK, "GET dataset")
        body = response.json()
        images, videos = m.counts(ds.content)
        assert body["id"] == ds.dataset_id
        assert body["display_name"] == ds.name
        assert body["owned_by"] == self.stack.emails[ds.creator]
        assert (body["status"], body["status_new"]) == (ds.status, ds.status), body
        assert (body["n_images"], body["n_videos"]) == (images, videos), body
        assert body["snapshot_support"] is ds.snapshot_support
        assert body["source_dataset_id"] == ds.source_dataset_id
        if ds.status == m.ERROR:  # API.md: "fatal_error_msg says why"
            assert isinstance(body["fatal_error_msg"], str), body
            assert body["fatal_error_msg"].strip(), body
        elif ds.status != m.READ_ONLY:
            assert body["fatal_error_msg"] is None, body

    def fetch_snapshots(self, ds: Dataset, user: str) -> list[dict[str, Any]] | None:
        """GET the snapshot list; None when the model says the caller gets an error."""
        response = self.call(user, "GET", f"/dataset/{ds.dataset_id}/snapshot")
        if ds.role(user) is None:
            refused(response, Refusal(404, "no role"), "list snapshots")
            return None
        if not ds.snapshot_support:
            refused(response, Refusal(403, "snapshots disabled"), "list snapshots")
            return None
        refused(response, m.OK, "list snapshots")
        listed: list[dict[str, Any]] = response.json()
        return listed

    def check_snapshots(
        self, ds: Dataset, user: str, listed: list[dict[str, Any]] | None = None
    ) -> None:
        """The snapshot list (fetched now unless given) is exactly the model's."""
        if listed is None:
            listed = self.fetch_snapshots(ds, user)
            if listed is None:
                return
        expected = ds.listed_snapshots()
        assert [s["snapshot_id"] for s in listed] == [s.snapshot_id for s in expected], (
            listed,
            expected,
        )
        for body, snapshot in zip(listed, expected, strict=True):
            self.check_snapshot(ds, body, snapshot)
        times = [s["created_at"] for s in listed]
        assert times == sorted(times, reverse=True), "newest first"
        assert sum(s["is_current"] for s in listed) == int(ds.current is not None)

    def check_snapshot(self, ds: Dataset, body: dict[str, Any], snapshot: Snapshot) -> None:
        assert set(body) == SNAPSHOT_FIELDS, body
        assert NAIVE_MICROS.match(body["created_at"]), body
        wanted = {
            "snapshot_id": snapshot.snapshot_id,
            "snapshot_name": snapshot.name,
            "source_dataset_name": ds.name,
            "created_by": snapshot.created_by,
            "n_images": snapshot.n_images,
            "n_videos": snapshot.n_videos,
            "reason": snapshot.reason,
            "training_model_id": None,
            "training_model_name": None,
            "is_current": ds.current == snapshot.snapshot_id,
            "is_restoring": ds.restoring == snapshot.snapshot_id,
        }
        wanted["description"] = snapshot.description
        assert {k: body[k] for k in wanted} == wanted, (body, snapshot)

    def fetch_media(
        self, ds: Dataset, user: str, snapshot_id: str | None = None
    ) -> tuple[m.Content, dict[str, m.Item]] | None:
        """GET the media (now, or at a snapshot) as model items, with what the model
        expects there; None when the model says the caller gets an error."""
        params: dict[str, Any] = {"page_size": 100}
        if snapshot_id is not None:
            params["snapshot_id"] = snapshot_id
        response = self.call(user, "GET", f"/dataset/{ds.dataset_id}/media", params=params)
        if ds.role(user) is None:
            refused(response, Refusal(404, "no role"), "list media")
            return None
        content = ds.content
        if snapshot_id is not None:
            found = ds.live(snapshot_id)
            if found is None:
                refused(response, Refusal(404, "unknown or deleted snapshot"), "list media")
                return None
            content = found.content
        refused(response, m.OK, "list media")
        body = response.json()
        assert body["total"] == len(body["media"]) <= 100, body["total"]
        seen = {}
        for item in body["media"]:
            labels = item["labels"]
            assert all(label.get("source") == "manual" for label in labels), labels
            seen[item["media_id"]] = m.Item(
                item["media_id"],
                item["kind"],
                item["file_name"],
                tuple(item["tags"]),
                tuple(label["class_name"] for label in labels),
                tuple(sorted((t, o["model_id"]) for t, o in item["enrichment"].items())),
            )
        return content, seen

    def check_media(self, ds: Dataset, user: str, snapshot_id: str | None = None) -> None:
        fetched = self.fetch_media(ds, user, snapshot_id)
        if fetched is not None:
            expected, seen = fetched
            assert seen == expected, (seen, expected)

    def check_task(self, task: Task, user: str) -> dict[str, Any] | None:
        ds = self.model.dataset(task.dataset_id)
        response = self.call(user, "GET", f"/tasks/{task.task_id}")
        if ds.role(user) is None:
            refused(response, Refusal(404, "no role on the task's dataset"), "GET task")
            return None
        refused(response, m.OK, "GET task")
        body: dict[str, Any] = response.json()
        wanted = {
            "task_id": task.task_id,
            "dataset_id": task.dataset_id,
            "dataset_name": ds.name,
            "task_type": task.task_type,
            "created_by": task.created_by,
            "status": task.status,
        }
        assert {k: body[k] for k in wanted} == wanted, (body, task)
        assert (body["end_time"] is None) == (task.status not in m.FINAL), body
        if task.status == "FAILED":
            assert isinstance(body["error_message"], str), body
            assert body["error_message"].strip(), body
        if task.status == "COMPLETED":
            assert body["error_message"] is None, body
        if ds.active is task:
            assert body["dataset_status"] == ds.status.replace(" ", "_"), body
        return body

    def check_started(self, response: httpx.Response, dataset_id: str) -> str:
        body = response.json()
        assert set(body) == {"task_id", "dataset_id"}, body
        assert response.headers["location"] == f"/api/v1/tasks/{body['task_id']}"
        assert body["dataset_id"] == dataset_id
        return str(body["task_id"])

    # Rules: datasets.

    @initialize(
        media=st.sampled_from(["image", "mixed", "images", "broken", "with-broken"]),
        run_now=st.sampled_from([True, True, False]),
        keep=st.booleans(),
        bob=st.sampled_from([m.EDITOR, None, m.VIEWER, m.OWNER]),
    )
    def first_dataset(self, media: str, run_now: bool, keep: bool, bob: str | None) -> None:
        """Alice's dataset, indexed now (and maybe snapshotted) or left waiting, and Bob's
        role on it."""
        self.create_dataset("alice", "cats", media, True)
        if bob is not None:
            self.share("alice", 0, "bob", bob)
        if run_now:
            self.run_task(0)
            if keep:
                self.create_snapshot("alice", 0, "kept", None)

    @precondition(lambda self: len(self.model.datasets) < 3)
    @rule(
        user=ACTOR,
        name=st.sampled_from(DATASET_NAMES),
        media=st.sampled_from(["none", *MEDIA]),
        support=st.sampled_from([True, False]),
    )
    def create_dataset(self, user: str, name: str, media: str, support: bool) -> None:
        expected = self.model.decide_create_dataset(name)
        uploads: tuple[Upload, ...] = ()
        if media == "none":
            response = self.call(
                user, "POST", "/dataset", json={"dataset_name": name, "snapshot_support": support}
            )
        else:
            uploads, files = self.upload(media)
            response = self.call(
                user,
                "POST",
                "/dataset",
                files=files,
                data={"dataset_name": name, "snapshot_support": str(support).lower()},
            )
        self.expect("create_dataset", response, expected)
        if expected.code != 200:
            return
        dataset_id = str(response.json()["dataset_id"])
        task_id = None
        if uploads:
            [task] = self.stack.clients[user].tasks(dataset_id=dataset_id)["tasks"]
            assert (task["task_type"], task["status"]) == (m.CREATION, "INITIALIZING"), task
            task_id = str(task["task_id"])
        ds = self.model.apply_create_dataset(dataset_id, user, name, support, uploads, task_id)
        self.check_dataset(ds, user)

    @rule(
        user=ACTOR,
        which=st.integers(0, 5),
        whom=st.sampled_from(USERS),
        role=st.sampled_from(m.ROLES),
    )
    def share(self, user: str, which: int, whom: str, role: str) -> None:
        ds = self.pick(which)
        expected = self.model.decide_share(ds, user, whom, role)
        response = self.call(
            user,
            "POST",
            f"/dataset/{ds.dataset_id}/share",
            json={"user_email": self.stack.emails[whom], "role": role},
        )
        self.expect("share", response, expected)
        if expected.code == 200:
            assert response.json() == {"user_email": self.stack.emails[whom], "role": role}
            self.model.apply_share(ds, whom, role)
            self.check_dataset(ds, whom)

    @rule(user=ACTOR, which=st.integers(0, 5), ghost=RARELY)
    def read_dataset(self, user: str, which: int, ghost: bool) -> None:
        if ghost:  # an id no dataset has
            response = self.call(user, "GET", f"/dataset/{uuid.uuid4()}")
            self.expect("read_dataset", response, Refusal(404, "unknown dataset"))
            return
        ds = self.pick(which)
        self.check_dataset(ds, user)
        response = self.call(user, "GET", f"/dataset/{ds.dataset_id}/access")
        role = ds.role(user)
        self.expect("read_dataset", response, Refusal(404, "no role") if role is None else m.OK)
        if role is not None:
            assert response.json() == {
                "role": role,
                "can_edit": role != m.VIEWER,
                "can_share": role == m.OWNER,
            }

    # Rules: snapshots.

    @rule(user=ACTOR, which=st.integers(0, 5))
    def list_snapshots(self, user: str, which: int) -> None:
        ds = self.pick(which)
        self.check_snapshots(ds, user)
        self.count("list_snapshots")

    @rule(
        user=ACTOR,
        which=st.integers(0, 5),
        name=st.sampled_from(SNAPSHOT_NAMES),
        description=st.sampled_from(DESCRIPTIONS),
    )
    def create_snapshot(
        self, user: str, which: int, name: str | None, description: str | None
    ) -> None:
        ds = self.pick(which)
        expected = self.model.decide_create_snapshot(ds, user, name)
        response = self.call(
            user, "POST", f"/dataset/{ds.dataset_id}/snapshot", json=given(name, description)
        )
        self.expect("create_snapshot", response, expected)
        if expected.code == 200:
            body = response.json()
            snapshot = self.model.apply_create_snapshot(
                ds, user, body["snapshot_id"], name, description
            )
            self.check_snapshot(ds, body, snapshot)

    @rule(
        user=ACTOR,
        which=st.integers(0, 5),
        pick=st.sampled_from(PICKS),
        index=st.integers(0, 5),
        name=st.sampled_from(NEW_NAMES),
        description=st.sampled_from(NEW_DESCRIPTIONS),
    )
    def edit_snapshot(
        self,
        user: str,
        which: int,
        pick: str,
        index: int,
        name: str | None,
        description: str | None,
    ) -> None:
        ds = self.pick(which)
        snapshot_id = self.snapshot_id(ds, pick.replace("literal-", ""), index)
        expected = self.model.decide_edit_snapshot(ds, user, snapshot_id, name, description)
        response = self.call(
            user,
            "PATCH",
            f"/dataset/{ds.dataset_id}/snapshot/{snapshot_id}",
            json=given(name, description),
        )
        self.expect("edit_snapshot", response, expected)
        if expected.code == 200:
            snapshot = self.model.apply_edit_snapshot(ds, snapshot_id, name, description)
            self.check_snapshot(ds, response.json(), snapshot)

    @snapshot_rule
    def delete_snapshot(self, user: str, which: int, pick: str, index: int) -> None:
        ds = self.pick(which)
        snapshot_id = self.snapshot_id(ds, pick.replace("literal-", ""), index)
        expected = self.model.decide_delete_snapshot(ds, user, snapshot_id)
        response = self.call(user, "DELETE", f"/dataset/{ds.dataset_id}/snapshot/{snapshot_id}")
        self.expect("delete_snapshot", response, expected)
        if expected.code == 200:
            assert response.content == b""
            self.model.apply_delete_snapshot(ds, snapshot_id)
            self.check_snapshots(ds, user)

    def start_on_snapshot(
        self, action: str, user: str, ds: Dataset, snapshot_id: str, expected: Refusal
    ) -> httpx.Response:
        """POST a task-starting snapshot action (restore, clone) and check the answer."""
        response = self.call(
            user, "POST", f"/dataset/{ds.dataset_id}/snapshot/{snapshot_id}/{action}"
        )
        self.expect(action, response, accepted(expected))
        return response

    @snapshot_rule
    def restore(self, user: str, which: int, pick: str, index: int) -> None:
        ds = self.pick(which)
        snapshot_id = self.snapshot_id(ds, pick, index)
        expected = self.model.decide_restore(ds, user, snapshot_id)
        response = self.start_on_snapshot("restore", user, ds, snapshot_id, expected)
        if expected.code == 200:
            task_id = self.check_started(response, ds.dataset_id)
            auto, listed = self.learn_auto_snapshot(ds)
            self.model.apply_restore(ds, user, snapshot_id, task_id, auto)
            self.check_snapshots(ds, user, listed)
            self.check_dataset(ds, user)

    @snapshot_rule
    def clone(self, user: str, which: int, pick: str, index: int) -> None:
        ds = self.pick(which)
        snapshot_id = self.snapshot_id(ds, pick, index)
        expected = self.model.decide_clone(ds, user, snapshot_id)
        response = self.start_on_snapshot("clone", user, ds, snapshot_id, expected)
        if expected.code == 200:
            body = response.json()
            assert body["dataset_id"] != ds.dataset_id
            task_id = self.check_started(response, body["dataset_id"])
            clone = self.model.apply_clone(ds, user, snapshot_id, task_id, body["dataset_id"])
            for reader in USERS:  # only the caller has a role on the clone
                self.check_dataset(clone, reader)
            self.check_dataset(ds, user)

    # Rules: data-modifying operations (tasks) and batch edits.

    def start_operation(
        self,
        rule_name: str,
        user: str,
        ds: Dataset,
        path: str,
        task: Task,
        expected: Refusal,
        **kwargs: Any,
    ) -> None:
        response = self.call(user, "POST", path, **kwargs)
        self.expect(rule_name, response, accepted(expected))
        if expected.code == 200:
            task.task_id = self.check_started(response, ds.dataset_id)
            auto, listed = self.learn_auto_snapshot(ds)
            self.model.apply_operation(ds, user, task, auto)
            if listed is not None:
                self.check_snapshots(ds, user, listed)
            self.check_dataset(ds, user)

    @rule(user=ACTOR, which=st.integers(0, 5), media=st.sampled_from(list(MEDIA)))
    def add_media(self, user: str, which: int, media: str) -> None:
        ds = self.pick(which)
        uploads, files = self.upload(media)
        task = Task("", m.MEDIA_ADDITION, ds.dataset_id, self.stack.emails[user], uploads=uploads)
        self.start_operation(
            "add_media",
            user,
            ds,
            f"/dataset/{ds.dataset_id}/media",
            task,
            self.model.decide_operation(ds, user),
            files=files,
        )

    @rule(user=ACTOR, which=st.integers(0, 5))
    def reindex(self, user: str, which: int) -> None:
        ds = self.pick(which)
        task = Task("", m.REINDEX, ds.dataset_id, self.stack.emails[user])
        self.start_operation(
            "reindex",
            user,
            ds,
            f"/dataset/{ds.dataset_id}/reindex",
            task,
            self.model.decide_operation(ds, user),
            json={},
        )

    @rule(user=ACTOR, which=st.integers(0, 5), data=st.data(), unknown=RARELY)
    def enrich(self, user: str, which: int, data: st.DataObject, unknown: bool) -> None:
        ds = self.pick(which)
        types = sorted(self.stack.enrichment_models)
        chosen = data.draw(
            st.lists(st.sampled_from(types), min_size=1, max_size=2, unique=True), label="models"
        )
        chosen += ["NO_SUCH_MODEL"] if unknown else []
        models = {t: self.stack.enrichment_models[t][0] if t in types else "v0" for t in chosen}
        task = Task(
            "",
            m.ENRICHMENT,
            ds.dataset_id,
            self.stack.emails[user],
            models=tuple(sorted(models.items())),
        )
        expected = self.model.decide_operation(ds, user, unknown_model="NO_SUCH_MODEL" in chosen)
        self.start_operation(
            "enrich",
            user,
            ds,
            f"/dataset/{ds.dataset_id}/enrich_dataset",
            task,
            expected,
            json={"enrichment_models": models},
        )

    @rule(
        user=ACTOR,
        which=st.integers(0, 5),
        items=st.lists(st.integers(0, 9), min_size=1, max_size=3),
        ghost=RARELY,
        add=st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        remove=st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
    )
    def edit_tags(
        self,
        user: str,
        which: int,
        items: list[int],
        ghost: bool,
        add: list[str],
        remove: list[str],
    ) -> None:
        ds = self.pick(which)
        remove = [t for t in remove if t not in add]
        add = add or ([] if remove else [TAGS[0]])
        media_ids = self.media_ids(ds, items, ghost)
        expected = self.model.decide_edit_items(ds, user, media_ids)
        response = self.call(
            user,
            "POST",
            f"/dataset/{ds.dataset_id}/media/tags",
            json={"media_ids": media_ids, "add": add, "remove": remove},
        )
        self.expect("edit_tags", response, expected)
        if expected.code == 200:
            changed = self.model.apply_tags(ds, media_ids, add, remove)
            assert response.json() == {"updated": len(changed), "media_ids": changed}

    @rule(
        user=ACTOR,
        which=st.integers(0, 5),
        items=st.lists(st.integers(0, 9), min_size=1, max_size=3),
        ghost=RARELY,
        mode=st.sampled_from(["add", "set", "remove"]),
        classes=st.lists(st.sampled_from(CLASSES), max_size=3),
    )
    def edit_labels(
        self, user: str, which: int, items: list[int], ghost: bool, mode: str, classes: list[str]
    ) -> None:
        ds = self.pick(which)
        classes = classes or ([] if mode == "set" else [CLASSES[0]])
        media_ids = self.media_ids(ds, items, ghost)
        expected = self.model.decide_edit_items(ds, user, media_ids)
        response = self.call(
            user,
            "POST",
            f"/dataset/{ds.dataset_id}/media/labels",
            json={
                "media_ids": media_ids,
                "mode": mode,
                "labels": [{"class_name": c} for c in classes],
            },
        )
        self.expect("edit_labels", response, expected)
        if expected.code == 200:
            changed = self.model.apply_labels(ds, media_ids, mode, classes)
            assert response.json() == {"updated": len(changed), "media_ids": changed}

    @snapshot_rule
    def read_media(self, user: str, which: int, pick: str, index: int) -> None:
        ds = self.pick(which)
        at = None if pick == "literal-current" else self.snapshot_id(ds, pick, index)
        self.check_media(ds, user, at)
        self.count("read_media")

    # Rules: tasks.

    @precondition(lambda self: self.model.running_tasks())
    @rule(which=st.integers(0, 5))
    def run_task(self, which: int) -> None:
        """The held worker runs one waiting task to its end; then what it changed is checked:
        the dataset, its snapshots and its media (the task's own record: read_task, abort)."""
        running = self.model.running_tasks()
        task = running[which % len(running)]
        ds = self.model.dataset(task.dataset_id)
        reader = self.someone_on(ds)
        before = set(ds.content)
        assert self.stack.runtime.worker.run_task(uuid.UUID(task.dataset_id), task.task_id)
        self.count("run_task")
        fetched = self.fetch_media(ds, reader)
        assert fetched is not None
        _, seen = fetched
        new_media: dict[str, Upload] = {}
        good = {u.name: u for u in task.uploads if u.kind != "broken"}
        if task.task_type in (m.CREATION, m.MEDIA_ADDITION) and good:
            added = {k: i for k, i in seen.items() if k not in before}
            assert len(seen) == len(before) + len(good), (seen, before, good)
            assert sorted(i.file_name for i in added.values()) == sorted(good), added
            new_media = {k: good[i.file_name] for k, i in added.items()}
        new_snapshot = {m.CREATION: "creation", m.CLONE: "clone"}.get(task.task_type)
        takes = task.task_type == m.CLONE or (task.task_type == m.CREATION and bool(good))
        new, listed = self.learn_new_snapshot(ds, takes, new_snapshot or "")
        snapshot_id = None if new is None else str(new["snapshot_id"])
        self.model.finish(
            task,
            new_media,
            snapshot_id if new_snapshot == "creation" else None,
            snapshot_id if new_snapshot == "clone" else None,
        )
        assert seen == ds.content, (seen, ds.content)
        if listed is not None:
            self.check_snapshots(ds, reader, listed)
        self.check_dataset(ds, reader)
        if task.task_type == m.CLONE:
            self.check_dataset(self.model.dataset(task.source_dataset_id), reader)

    @rule(user=ACTOR, which=st.integers(0, 9))
    def read_task(self, user: str, which: int) -> None:
        tasks = self.model.all_tasks()
        if tasks:
            self.check_task(tasks[which % len(tasks)], user)
        self.count("read_task")

    @precondition(lambda self: self.model.all_tasks())
    @rule(user=ACTOR, which=st.integers(0, 9), running=st.booleans())
    def abort(self, user: str, which: int, running: bool) -> None:
        tasks = (running and self.model.running_tasks()) or self.model.all_tasks()
        task = tasks[which % len(tasks)]
        ds = self.model.dataset(task.dataset_id)
        expected = self.model.decide_abort(task, user)
        response = self.call(user, "POST", f"/tasks/{task.task_id}/abort")
        self.expect("abort", response, expected)
        if expected.code == 200:
            self.model.apply_abort(task)
            assert response.json()["status"] == "ABORTED"
            self.check_task(task, user)
            self.check_dataset(ds, user)
            if task.task_type == m.CLONE:
                self.check_dataset(
                    self.model.dataset(task.source_dataset_id),
                    self.someone_on(self.model.dataset(task.source_dataset_id)),
                )

    @precondition(lambda self: self.model.all_tasks())
    @rule(user=ACTOR, which=st.integers(0, 9))
    def retry(self, user: str, which: int) -> None:
        tasks = self.model.all_tasks()
        task = tasks[which % len(tasks)]
        ds = self.model.dataset(task.dataset_id)
        expected = self.model.decide_retry(task, user)
        response = self.call(user, "POST", f"/tasks/{task.task_id}/retry")
        self.expect("retry", response, expected)
        if expected.code == 200:
            self.model.apply_retry(task)
            body = response.json()
            assert (body["task_id"], body["status"], body["end_time"]) == (
                task.task_id,
                "INITIALIZING",
                None,
            )
            self.check_dataset(ds, user)


# The tests.


def _settings(backend: str) -> settings:
    examples = int(os.environ.get("SNAPSET_MODEL_EXAMPLES") or EXAMPLES[backend])
    seed = os.environ.get("SNAPSET_MODEL_SEED")
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=seed is None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


def test_random_api_call_sequences_keep_to_the_model(stack: Stack) -> None:
    chosen = _settings(stack.backend)
    machine: Any = type(f"ApiMachineOn{stack.backend.title()}", (ApiMachine,), {"stack": stack})
    seed = os.environ.get("SNAPSET_MODEL_SEED")
    if seed is not None:
        machine = hypothesis.seed(int(seed))(machine)
    stats = stack.stats
    started = time.monotonic()
    run_state_machine_as_test(machine, settings=chosen)
    seconds = time.monotonic() - started
    summary = {
        "backend": stack.backend,
        "sequences": stats.sequences,
        "steps": stats.steps,
        "requests": stats.requests,
        "seconds": round(seconds, 1),
        "max_examples": chosen.max_examples,
        "steps_per_sequence": STEPS,
        "seed": seed or "derandomized",
        "outcomes": dict(sorted(stats.outcomes.items())),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    artifact = ARTIFACTS / f"model-based-{stack.backend}.json"
    artifact.write_text(json.dumps(summary, indent=1))
    print(
        f"\nmodel-based ({stack.backend}): {stats.sequences} sequences, {stats.steps} steps, "
        f"{stats.requests} requests in {seconds:.1f} s (outcomes: {artifact})"
    )
    assert stats.sequences >= chosen.max_examples, (
        f"hypothesis ran {stats.sequences} sequences, fewer than {chosen.max_examples}"
    )
