"""Schemathesis against the live `/openapi.json`, on SQLite and on PostgreSQL.

Each backend gets a real server (subprocess) with real data in it: a dataset the fuzzing user
owns (media, clusters, custom metadata, tags, labels, snapshots, a finished export), one they
may only view and one they have no role on. Schemathesis (the `st run` command line, one
process per backend, both backends at once so they share the wall time) runs every phase
(examples, coverage, fuzzing, stateful) with those ids in its dictionaries, so requests reach
deep code and not only 404s. The checks: no 5xx, every status code documented, every body
matching its model, documented content types and headers.

The campaign counts the requests it made (from schemathesis's event stream) and fails with
fewer than ``MIN_REQUESTS`` over the backends (half each). Every failing case is listed with
the request that produced it. ``SNAPSET_SCHEMATHESIS_SEED`` replays a run;
``SNAPSET_SCHEMATHESIS_MAX_EXAMPLES`` sets the examples per operation and phase.

The cases schemathesis found are kept in ``FOUND``, replayed on every run with the same
checks through schemathesis's Python API: each one must get a documented answer.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import BACKENDS, BASE_URL
from tests.support.client import SnapsetClient
from tests.support.media import folder_of_media, image
from tests.support.server import ServerProcess, snapset_command, start_server

pytestmark = pytest.mark.reliability

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
CHECK_FUNCTIONS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
PHASES = ("examples", "coverage", "fuzzing", "stateful")
MIN_REQUESTS = 10_000  # over the backends; each must make its share
MAX_EXAMPLES = int(os.environ.get("SNAPSET_SCHEMATHESIS_MAX_EXAMPLES", "110"))
GUARD_SECONDS = 900  # a campaign still running after this is stopped and fails
USER = "fuzzer@example.com"
OTHER = "other@example.com"
REPO = Path(__file__).resolve().parents[2]


# Real data for schemathesis to aim at.


@dataclass
class Seeded:
    """The ids a campaign's dictionaries draw from."""

    token: str
    api_key: str
    api_secret: str
    own: str  # a dataset the fuzzing user owns
    viewed: str  # one they may only view
    foreign: str  # one they have no role on
    media: list[str]
    snapshots: list[str]
    tasks: list[str]
    export_task: str
    folders: list[str]  # source_path values: inside, outside and odd


def add_user(server: ServerProcess, email: str) -> SnapsetClient:
    out = subprocess.run(
        snapset_command("users", "add", email, "--json", "--data-dir", str(server.data_dir)),
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    keys = json.loads(out)
    return SnapsetClient(server.base_url, keys["api_key"], keys["api_secret"])


def seed(server: ServerProcess, folder: Path, import_root: Path) -> Seeded:
    """A dataset with everything in it, one shared read-only, one out of reach."""
    user, other = add_user(server, USER), add_user(server, OTHER)
    try:
        files = sorted(folder_of_media(folder / "own", images=3, videos=1).iterdir())
        own = user.create_dataset("fuzzed", files=files)
        user.wait_status(own, "READY")
        creation = user.tasks(dataset_id=own)["tasks"][0]["task_id"]
        reindex = user.ok("POST", f"/dataset/{own}/reindex", expect=202, json={})["task_id"]
        user.wait_task(reindex)
        media = [m["media_id"] for m in user.media(own)]
        metadata = user.ok(
            "POST",
            f"/dataset/{own}/custom_metadata",
            expect=202,
            json={
                "schema": {
                    "score": "float",
                    "shot": "datetime",
                    "kind": {"type": "enum", "options": ["a", "b"]},
                },
                "key": "media_id",
                "rows": [
                    {
                        "media_id": media[0],
                        "score": 1.5,
                        "kind": "a",
                        "shot": "2024-05-01T10:00:00Z",
                    },
                    {"media_id": media[1], "score": 7, "kind": "b"},
                ],
            },
        )
        user.wait_task(metadata["task_id"])
        user.ok(
            "POST",
            f"/dataset/{own}/media/tags",
            json={"media_ids": media[:2], "add": ["cat", "outdoor"]},
        )
        user.ok(
            "POST",
            f"/dataset/{own}/media/labels",
            json={
                "media_ids": media[:1],
                "labels": [{"class_name": "cat", "bbox": [1.0, 1.0, 4.0, 4.0]}],
            },
        )
        user.create_snapshot(own, name="seeded", description="made by the fixture")
        export = user.ok(
            "GET", f"/dataset/{own}/export_context_async", params={"include_media": "true"}
        )["id"]
        user.wait_task(export)
        snapshots = [s["snapshot_id"] for s in user.snapshots(own)]

        viewed = other.create_dataset("shared", files=[image(folder / "v" / "v.png")])
        other.wait_status(viewed, "READY")
        other.ok("POST", f"/dataset/{viewed}/share", json={"user_email": USER, "role": "viewer"})
        foreign = other.create_dataset("private", files=[image(folder / "f" / "f.png")])
        other.wait_status(foreign, "READY")

        folder_of_media(import_root / "photos", images=2, videos=0)
        outside = folder / "outside"
        outside.mkdir()
        (import_root / "escape").symlink_to(outside, target_is_directory=True)
        (import_root / "loop").symlink_to(import_root / "loop")
        folders = [
            "photos",
            "photos/",
            str(import_root / "photos"),
            "../outside",
            "escape",
            "loop",
            "photos/../photos",
            "/",
            "photos/img000.png",
            "missing",
        ]
        return Seeded(
            user.token(6 * 3600),
            user.api_key,
            user.api_secret,
            own,
            viewed,
            foreign,
            media,
            snapshots,
            [creation, reindex, export],
            export,
            folders,
        )
    finally:
        user.close()
        other.close()


def config_toml(seeded: Seeded) -> str:
    """The campaign's schemathesis.toml: auth, dictionaries of real ids, phases."""

    def values(items: list[str]) -> str:
        return "{ values = " + json.dumps(items) + " }"

    dictionaries = {
        "datasets": [seeded.own] * 4 + [seeded.viewed, seeded.foreign],
        "snapshots": [*seeded.snapshots, "current"],
        "media": seeded.media,
        "tasks": seeded.tasks,
        "exports": [seeded.export_task],
        "folders": seeded.folders,
        "emails": [OTHER, USER],
        "keys": [seeded.api_key],
        "secrets": [seeded.api_secret],
    }
    bindings = {
        "path.dataset_id": ("datasets", 0.9),
        "path.snapshot_id": ("snapshots", 0.8),
        "path.media_id": ("media", 0.8),
        "path.task_id": ("tasks", 0.8),
        "query.snapshot_id": ("snapshots", 0.5),
        "query.against": ("snapshots", 0.5),
        "query.export_task_id": ("exports", 0.7),
        "query.dataset_id": ("datasets", 0.5),
        "body.media_ids[*]": ("media", 0.7),
        "body.source_path": ("folders", 0.5),
        "body.user_email": ("emails", 0.5),
        "body.api_key": ("keys", 0.5),
        "body.api_secret": ("secrets", 0.5),
    }
    lines = [
        f'headers = {{ Authorization = "Bearer {seeded.token}" }}',
        "",
        "[generation]",
        'database = "none"',
        "",
        "[phases.examples]",
        "fill-missing = true",
        "",
        "[dictionaries]",
    ]
    lines += [f"{name} = {values(items)}" for name, items in dictionaries.items()]
    lines += ["", "[parameters]"]
    lines += [
        f'"{key}" = {{ dictionary = "{name}", probability = {p} }}'
        for key, (name, p) in bindings.items()
    ]
    return "\n".join(lines) + "\n"


# One campaign: a server, its data, and `st run` against it.


@dataclass
class Finding:
    operation: str
    check: str
    title: str
    message: str
    request: str
    response: str
    count: int = 1

    def describe(self) -> str:
        return (
            f"- {self.operation}: {self.title} ({self.check}), {self.count} case(s)\n"
            f"    {self.message.strip().replace(chr(10), chr(10) + '    ')}\n"
            f"    request:  {self.request}\n    response: {self.response}"
        )


@dataclass
class Outcome:
    requests: int
    by_phase: Counter[str]
    findings: list[Finding]
    errors: list[str]
    stop_reason: str
    seconds: float
    timed_out: bool

    def summary(self, campaign: Campaign) -> str:
        phases = ", ".join(f"{phase} {count}" for phase, count in sorted(self.by_phase.items()))
        return (
            f"{campaign.backend}: {self.requests} requests in {self.seconds:.0f} s "
            f"({phases}); seed {campaign.seed}; stop: {self.stop_reason}; "
            f"log {campaign.folder / 'st.log'}"
        )


@dataclass
class Campaign:
    backend: str
    server: ServerProcess
    seeded: Seeded
    folder: Path
    seed: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    outcome: Outcome | None = field(default=None, repr=False)

    def start(self) -> None:
        config = self.folder / "schemathesis.toml"
        config.write_text(config_toml(self.seeded), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{self.server.base_url}/openapi.json",
            "--url",
            self.server.base_url,
            "--phases",
            ",".join(PHASES),
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(self.seed),
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(self.folder / "events.ndjson"),
            "--no-color",
        ]
        with (self.folder / "st.log").open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
            )
        self.started = time.monotonic()

    def finish(self) -> Outcome:
        if self.outcome is None:
            assert self.process is not None
            timed_out = False
            try:
                self.process.wait(
                    timeout=max(1.0, GUARD_SECONDS - (time.monotonic() - self.started))
                )
            except subprocess.TimeoutExpired:
                timed_out = True
                self.process.kill()
                self.process.wait()
            self.outcome = read_events(
                self.folder / "events.ndjson", time.monotonic() - self.started, timed_out
            )
        return self.outcome

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def read_events(path: Path, seconds: float, timed_out: bool) -> Outcome:
    """Requests made and checks failed, from schemathesis's NDJSON event stream."""
    requests, by_phase = 0, Counter[str]()
    findings: dict[tuple[str, str], Finding] = {}
    errors: list[str] = []
    stop_reason = "none (killed)" if timed_out else "unknown"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the last line of a killed run may be cut short
        ((kind, data),) = event.items()
        if kind == "ScenarioFinished":
            recorder = data["recorder"]
            interactions = recorder.get("interactions", {})
            requests += len(interactions)
            by_phase[data.get("phase") or "?"] += len(interactions)
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    if check["status"] == "success":
                        continue
                    failure = check.get("failure_info", {}).get("failure", {})
                    key = (failure.get("operation", recorder["label"]), check["name"])
                    if key in findings:
                        findings[key].count += 1
                        continue
                    findings[key] = Finding(
                        key[0],
                        failure.get("code", check["name"]),
                        failure.get("title", check["name"]),
                        failure.get("message", ""),
                        *describe_interaction(interactions.get(case_id)),
                    )
        elif kind == "NonFatalError":
            info = data.get("info", {})
            errors.append(
                f"{data.get('label', '?')}: {info.get('title', '')} "
                f"{info.get('message', '')}".strip()
            )
        elif kind == "FatalError":
            errors.append(f"fatal: {data.get('exception', data)}")
        elif kind == "EngineFinished":
            stop_reason = data.get("stop_reason", "unknown")
    return Outcome(
        requests, by_phase, list(findings.values()), errors, stop_reason, seconds, timed_out
    )


def describe_interaction(interaction: dict[str, Any] | None) -> tuple[str, str]:
    if interaction is None:
        return "(no response recorded)", ""
    request, response = interaction["request"], interaction.get("response") or {}
    body = _decoded(request.get("body"))
    content = _decoded(response.get("content"))
    return (
        f"{request['method']} {request['uri']}" + (f" body {body}" if body else ""),
        f"{response.get('status_code', '?')} {content}",
    )


def _decoded(payload: Any, limit: int = 300) -> str:
    if not payload:
        return ""
    raw = payload.get("$base64") if isinstance(payload, dict) else None
    text = base64.b64decode(raw).decode("utf-8", "replace") if raw else str(payload)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# Fixtures: servers for the backends whose tests run; their campaigns start all at once.


@dataclass
class Target:
    backend: str
    server: ServerProcess
    seeded: Seeded
    folder: Path


def _selected_backends(request: pytest.FixtureRequest, prefix: str) -> list[str]:
    """The backends of this module's tests named ``prefix*`` that will run."""
    chosen = []
    for item in request.session.items:
        if (
            item.module is not request.module
            or item.get_closest_marker("skip")
            or not item.name.startswith(prefix)
        ):
            continue
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if backend and backend not in chosen:
            chosen.append(backend)
    return chosen


@pytest.fixture(scope="module")
def targets(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Target]]:
    started: dict[str, Target] = {}
    schemas: list[str] = []
    try:
        for backend in _selected_backends(request, "test_"):
            folder = tmp_path_factory.mktemp(f"schemathesis-{backend}")
            url = ""
            if backend == "postgres":
                schemas.append(f"t_{uuid.uuid4().hex[:12]}")
                url = f"{BASE_URL}?schema={schemas[-1]}"
            (folder / "imports").mkdir()
            server = start_server(
                folder / "data",
                database_url=url,
                import_root=folder / "imports",
                extra_args=("--embedded",) if url else (),
            )
            started[backend] = Target(
                backend, server, seed(server, folder, folder / "imports"), folder
            )
        yield started
    finally:
        for target in started.values():
            target.server.stop()
        if schemas:
            with psycopg.connect(BASE_URL.split("?")[0], autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def campaigns(
    request: pytest.FixtureRequest, targets: dict[str, Target]
) -> Iterator[dict[str, Campaign]]:
    env_seed = os.environ.get("SNAPSET_SCHEMATHESIS_SEED")
    started: dict[str, Campaign] = {}
    try:
        for backend in _selected_backends(request, "test_schemathesis"):
            target = targets[backend]
            started[backend] = Campaign(
                backend,
                target.server,
                target.seeded,
                target.folder,
                int(env_seed) if env_seed else random.getrandbits(64),
            )
            started[backend].start()
        yield started
    finally:
        for campaign in started.values():
            campaign.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(
    campaigns: dict[str, Campaign], backend: str
) -> None:
    campaign = campaigns[backend]
    outcome = campaign.finish()
    print(outcome.summary(campaign))
    share = MIN_REQUESTS // len(BACKENDS)
    problems = [f.describe() for f in outcome.findings] + [f"- error: {e}" for e in outcome.errors]
    if outcome.timed_out:
        pytest.fail(
            f"the campaign ran over {GUARD_SECONDS} s and was stopped; "
            f"{outcome.summary(campaign)}\n" + "\n".join(problems),
            pytrace=False,
        )
    if problems:
        pytest.fail(
            f"{len(problems)} finding(s); {outcome.summary(campaign)}\n" + "\n".join(problems),
            pytrace=False,
        )
    assert outcome.requests >= share, (
        f"only {outcome.requests} requests, fewer than {share}; {outcome.summary(campaign)}"
    )
    missing = [
        phase for phase in ("examples", "coverage", "fuzzing") if not outcome.by_phase[phase]
    ]
    assert not missing, f"no requests in {missing}; {outcome.summary(campaign)}"


# The cases schemathesis (and its follow-up) found, replayed: each must be answered as the
# OpenAPI document says. Each sends real requests and lets schemathesis check the answers.


class Replay:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.schema = schemathesis.openapi.from_url(f"{target.server.base_url}/openapi.json")
        self.http = httpx.Client(
            base_url=target.server.base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {target.seeded.token}"},
        )

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send the request; fail unless the answer is documented for that operation."""
        ids = {"dataset_id": self.target.seeded.own, "media_id": self.target.seeded.media[0]}
        sent = self.http.build_request(method, path.format(**ids), **kwargs)
        sent.read()  # so that schemathesis can show a multipart body too
        response = self.http.send(sent)
        operation = self.schema[path][method]
        case = operation.Case(
            path_parameters={k: v for k, v in ids.items() if "{" + k + "}" in path}
        )
        failed = ""
        try:
            case.validate_response(response, checks=CHECK_FUNCTIONS)
        except BaseExceptionGroup as failures:  # schemathesis's FailureGroup: every failed check
            failed = str(failures).split("Reproduce with:")[0].strip()
        if failed:
            given = {k: v for k, v in kwargs.items() if k in ("json", "params", "headers")}
            uploads = [f[1][0] for f in kwargs.get("files", [])]
            pytest.fail(
                f"{method} {response.request.url} {given or ''}"
                f"{f' uploading {uploads}' if uploads else ''}\n{failed}"[:3000],
                pytrace=False,
            )
        return response


API = "/api/v1"
BIG_NAME = "a" * 300  # one path component longer than a file name may be (255 bytes)
BEFORE_YEAR_1 = "0001-01-01T00:00:00+01:00"  # midnight of 1 Jan 1 in UTC+1 is in year 0 in UTC


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


FOUND: dict[str, Callable[[Replay], Any]] = {
    # 400s the shell answers for every endpoint, undocumented.
    "a JSON body that is not an object": lambda r: r.send(
        "POST", f"{API}/dataset/{{dataset_id}}/snapshot", json=[None, None]
    ),
    "a query parameter given twice": lambda r: r.send(
        "GET", f"{API}/tasks", params=[("page", "1"), ("page", "2")]
    ),
    "an Idempotency-Key that is not visible ASCII": lambda r: r.send(
        "POST",
        f"{API}/dataset/{{dataset_id}}/reindex",
        json={},
        headers={"Idempotency-Key": "two words"},
    ),
    # A 409 the share endpoint does not document.
    "sharing with the dataset's creator": lambda r: r.send(
        "POST", f"{API}/dataset/{{dataset_id}}/share", json={"user_email": USER, "role": "viewer"}
    ),
    # 500s: file names the file system refuses, a symlink loop, dates before year 1.
    "a source_path with a 300-byte component": lambda r: r.send(
        "POST", f"{API}/dataset", json={"dataset_name": "long", "source_path": BIG_NAME}
    ),
    "a source_path with a 300-byte component, adding media": lambda r: r.send(
        "POST", f"{API}/dataset/{{dataset_id}}/media", json={"source_path": BIG_NAME}
    ),
    "a source_path that is a symlink loop": lambda r: r.send(
        "POST", f"{API}/dataset", json={"dataset_name": "loop", "source_path": "loop"}
    ),
    "an upload named with 180 three-byte characters": lambda r: r.send(
        "POST",
        f"{API}/dataset",
        data={"dataset_name": "cjk"},
        files=[("files", ("漢" * 200 + ".png", _png(), "image/png"))],
    ),
    "a task filter time before year 1 in UTC": lambda r: r.send(
        "GET", f"{API}/tasks", params={"start_time_from": BEFORE_YEAR_1}
    ),
    "a history filter time before year 1 in UTC": lambda r: r.send(
        "GET", f"{API}/dataset/{{dataset_id}}/history", params={"since": BEFORE_YEAR_1}
    ),
    # PostgreSQL text cannot hold NUL: a filter with one is a 503, and one stored in a tag
    # stops the media index for good (every later list of the dataset is a 503).
    "a NUL in a task filter": lambda r: r.send(
        "GET", f"{API}/tasks", params={"dataset_name": "a\x00b"}
    ),
    "a NUL in a tag, then listing the media": lambda r: (
        r.send(
            "PATCH", f"{API}/dataset/{{dataset_id}}/media/{{media_id}}", json={"tags": ["a\x00b"]}
        ),
        r.send("GET", f"{API}/dataset/{{dataset_id}}/media"),
    ),
}


@pytest.fixture(scope="module")
def replays(targets: dict[str, Target]) -> Iterator[dict[str, Replay]]:
    made = {backend: Replay(target) for backend, target in targets.items()}
    yield made
    for replay in made.values():
        replay.http.close()


@pytest.mark.parametrize("name", FOUND)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_case_schemathesis_found_gets_a_documented_answer(
    request: pytest.FixtureRequest, replays: dict[str, Replay], backend: str, name: str
) -> None:
    if any(i.name.startswith("test_schemathesis") for i in request.session.items):
        campaign = request.getfixturevalue("campaigns").get(backend)
        if campaign is not None:
            campaign.finish()  # replays change data: they go after the campaign
    FOUND[name](replays[backend])
