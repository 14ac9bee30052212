"""A real snapset server (subprocess, uvicorn) on each backend, and clients for it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess, snapset_command, start_server


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    imports = tmp_path / "imports"
    imports.mkdir()
    process = start_server(
        tmp_path / "data",
        database_url=url,
        import_root=imports,
        extra_args=("--embedded",) if url else (),
    )
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[SnapsetClient]:
    c = SnapsetClient(server.base_url, server.api_key, server.api_secret)
    yield c
    c.close()


def add_user(server: ServerProcess, email: str, role: str = "user") -> SnapsetClient:
    """Create a user with `snapset users add --json` against the server's storage."""
    out = subprocess.run(
        snapset_command(
            "users", "add", email, "--role", role, "--json", "--data-dir", str(server.data_dir)
        ),
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    keys = json.loads(out)
    return SnapsetClient(server.base_url, keys["api_key"], keys["api_secret"])


@pytest.fixture
def other_user(server: ServerProcess) -> Iterator[SnapsetClient]:
    c = add_user(server, "stranger@example.com")
    yield c
    c.close()
