"""`snapset import` as a user runs it: progress and a summary, then a server that shows it all.

The command runs in its own process against a data directory (and PostgreSQL when
SNAPSET_DATABASE_URL says so); a server started on the same storage afterwards must list
what it imported. Progress goes to stderr as plain lines (stderr is a pipe here), one per
file with SNAPSET_PROGRESS_SECONDS=0.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import BACKENDS
from tests.e2e import helpers
from tests.support.client import SnapsetClient
from tests.support.media import image, zip_of
from tests.support.server import snapset_command, start_server

ROOT = Path(__file__).resolve().parents[2]
no_server_errors = helpers.no_server_errors


@dataclass
class Store:
    data_dir: Path
    database_url: str

    def snapset(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "SNAPSET_DATABASE_URL": self.database_url,
            "SNAPSET_PROGRESS_SECONDS": "0",
        }
        return subprocess.run(
            snapset_command(*args, "--data-dir", str(self.data_dir)),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=False,
        )

    def add_user(self, email: str) -> dict[str, str]:
        added = self.snapset("users", "add", email, "--json")
        assert added.returncode == 0, added.stderr
        keys: dict[str, str] = json.loads(added.stdout)
        return keys

    @contextmanager
    def client(self, keys: dict[str, str]) -> Iterator[SnapsetClient]:
        """A server on this storage (started after the imports) and a client of ``keys``."""
        server = start_server(
            self.data_dir,
            database_url=self.database_url,
            extra_args=("--embedded",) if self.database_url else (),
        )
        client = SnapsetClient(server.base_url, keys["api_key"], keys["api_secret"])
        try:
            yield client
        finally:
            client.close()
            server.stop()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    return Store(tmp_path / "data", url)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data", "")


def images(folder: Path, count: int, prefix: str = "img") -> list[Path]:
    return [
        image(folder / f"{prefix}{i:02d}.png", 8 + i, 20 - i, (30 * i % 256, 80, 160))
        for i in range(count)
    ]


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def printed_dataset_id(stdout: str) -> str:
    match = re.search(r"dataset 'birds' \(([0-9a-f-]{36})\)", stdout)
    assert match, stdout
    return match.group(1)


def test_importing_twice_creates_the_dataset_then_adds_to_it_and_a_server_lists_both(
    store: Store,
    tmp_path: Path,
) -> None:
    keys = store.add_user("importer@example.com")
    folder = tmp_path / "birds"
    made = images(folder, 4)
    (folder / "notes.txt").write_text("not media")
    files = sorted(p.name for p in folder.iterdir())

    first = store.snapset(
        "import", str(folder), "--dataset", "birds", "--as", "importer@example.com"
    )

    assert first.returncode == 0, first.stderr
    assert "Created dataset 'birds'" in first.stdout
    assert "DATASET_CREATION" in first.stdout
    assert f"Ingested {len(made)} items ({len(made)} images, 0 videos)." in first.stdout
    assert "Skipped 1 files:\n  notes.txt: unsupported file type .txt" in first.stdout
    assert f"import: 1/{len(files)} files" in first.stderr, "a progress line per file"
    assert "files/s, ETA" in first.stderr
    assert f"import: {len(files)}/{len(files)} files in" in first.stderr
    dataset_id = printed_dataset_id(first.stdout)

    archive = zip_of(tmp_path / "more.zip", {"a.png": png_bytes(5, 7), "b.png": png_bytes(9, 3)})
    second = store.snapset(
        "import", str(archive), "--dataset", "birds", "--as", "importer@example.com"
    )

    assert second.returncode == 0, second.stderr
    assert "Adding media to dataset 'birds'" in second.stdout
    assert printed_dataset_id(second.stdout) == dataset_id, "the same dataset, by its name"
    assert "MEDIA_ADDITION" in second.stdout
    assert "Ingested 2 items (2 images, 0 videos)." in second.stdout
    assert f"READY, {len(made) + 2} images, 0 videos." in second.stdout

    with store.client(keys) as client:
        listed = client.ok("GET", "/datasets")
        assert [
            (d["id"], d["display_name"], d["status"], d["n_images"], d["n_videos"])
            for d in listed["datasets"]
        ] == [(dataset_id, "birds", "READY", 6, 0)]
        media = client.media(dataset_id)
        assert sorted(m["file_name"] for m in media) == sorted(
            [p.name for p in made] + ["more.zip/a.png", "more.zip/b.png"]
        )
        sizes = {m["file_name"]: (m["width"], m["height"]) for m in media}
        for path in made:
            with Image.open(path) as opened:
                assert sizes[path.name] == opened.size
        assert sizes["more.zip/a.png"] == (5, 7)


def test_an_import_with_no_user_creates_the_first_admin_who_owns_the_dataset(
    sqlite_store: Store,
    tmp_path: Path,
) -> None:
    made = images(tmp_path / "cats", 3)

    result = sqlite_store.snapset("import", str(tmp_path / "cats"), "--dataset", "cats")

    assert result.returncode == 0, result.stderr
    assert f"Created the first admin user {helpers.ADMIN_EMAIL}" in result.stdout
    keys = {
        name: re.findall(rf"{name}:\s+(\S+)", result.stdout)[0]
        for name in ("api_key", "api_secret")
    }
    with sqlite_store.client(keys) as client:
        listed = client.ok("GET", "/datasets")["datasets"]
        assert [(d["display_name"], d["owned_by"], d["n_images"]) for d in listed] == [
            ("cats", helpers.ADMIN_EMAIL, len(made))
        ]


def test_bad_paths_and_unknown_users_are_refused_clearly_and_record_nothing(
    sqlite_store: Store,
    tmp_path: Path,
) -> None:
    sqlite_store.add_user("someone@example.com")
    (tmp_path / "empty").mkdir()
    for path, why in (
        (tmp_path / "missing", "does not exist"),
        (tmp_path / "empty", "has no files"),
    ):
        refused = sqlite_store.snapset(
            "import", str(path), "--dataset", "dogs", "--as", "someone@example.com"
        )
        assert refused.returncode == 2
        assert refused.stderr.startswith("snapset import: ")
        assert why in refused.stderr
    images(tmp_path / "dogs", 1)
    nobody = sqlite_store.snapset(
        "import", str(tmp_path / "dogs"), "--dataset", "dogs", "--as", "nobody@example.com"
    )
    assert nobody.returncode == 2
    assert "there is no user nobody@example.com" in nobody.stderr
    unknown_id = "00000000-0000-4000-8000-000000000000"
    wrong_id = sqlite_store.snapset(
        "import", str(tmp_path / "dogs"), "--dataset", unknown_id, "--as", "someone@example.com"
    )
    assert wrong_id.returncode == 1
    assert f"Dataset {unknown_id} was not found." in wrong_id.stderr

    accepted = sqlite_store.snapset(
        "import", str(tmp_path / "dogs"), "--dataset", "dogs", "--as", "someone@example.com"
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Created dataset 'dogs'" in accepted.stdout, "the refusals created no dataset"


def test_a_folder_without_media_fails_the_task_with_its_error_and_a_nonzero_exit(
    store: Store,
    tmp_path: Path,
) -> None:
    store.add_user("someone@example.com")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "readme.txt").write_text("no media here")

    result = store.snapset(
        "import", str(folder), "--dataset", "docs", "--as", "someone@example.com"
    )

    assert result.returncode == 1
    assert "DATASET_CREATION" in result.stdout
    assert "FAILED" in result.stdout
    assert (
        "snapset import: the task failed: No supported images or videos were found."
        in result.stderr
    )
    assert "readme.txt: unsupported file type .txt" in result.stderr


def test_rebuild_and_gc_report_their_progress(sqlite_store: Store, tmp_path: Path) -> None:
    sqlite_store.add_user("someone@example.com")
    images(tmp_path / "owls", 2)
    imported = sqlite_store.snapset(
        "import", str(tmp_path / "owls"), "--dataset", "owls", "--as", "someone@example.com"
    )
    assert imported.returncode == 0, imported.stderr

    rebuilt = sqlite_store.snapset("rebuild", "dataset_list")

    assert rebuilt.returncode == 0, rebuilt.stderr
    replayed = re.search(r"dataset_list: (\d+) events in", rebuilt.stdout)
    assert replayed, rebuilt.stdout
    events = int(replayed.group(1))
    assert events > 0
    assert f"rebuild dataset_list: {events}/{events} events (100%)" in rebuilt.stderr
    assert f"rebuild dataset_list: {events}/{events} events in" in rebuilt.stderr

    swept = sqlite_store.snapset("gc", "--grace-seconds", "0")

    assert swept.returncode == 0, swept.stderr
    assert re.search(
        r"gc: content-tree nodes no live version reaches: \d+ swept in", swept.stderr
    ), swept.stderr
    assert "gc: staged uploads no open task owns: 0 swept in" in swept.stderr
