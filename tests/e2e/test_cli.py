"""The snapset command line as a user meets it: users, tokens, first start, bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from tests.support.server import snapset_command, start_server

ROOT = Path(__file__).resolve().parents[2]


def snapset(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        snapset_command(*args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "SNAPSET_DATABASE_URL": "", **(env or {})},
        check=False,
    )


def test_a_user_added_before_the_first_start_can_call_the_api_with_a_cli_token(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    added = snapset("users", "add", "early@example.com", "--json", "--data-dir", str(data))
    assert added.returncode == 0, added.stderr
    keys = json.loads(added.stdout)
    assert set(keys) == {"api_key", "api_secret"}

    signed = snapset(
        "token",
        f"--api-key={keys['api_key']}",
        f"--api-secret={keys['api_secret']}",
        "--ttl",
        "600",
    )
    assert signed.returncode == 0, signed.stderr
    token = signed.stdout.strip()
    server = start_server(data)
    try:
        assert server.api_key, "the first start still creates and prints the admin"
        response = httpx.get(
            f"{server.base_url}/api/v1/datasets", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        assert response.json()["total"] == 0
    finally:
        server.stop()
    restarted = start_server(data)
    try:
        assert restarted.api_key == "", "the admin's secret is printed only once"
    finally:
        restarted.stop()


def test_adding_a_user_twice_fails_with_a_clear_message(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert snapset("users", "add", "twice@example.com", "--data-dir", data).returncode == 0
    again = snapset("users", "add", "twice@example.com", "--data-dir", data)
    assert again.returncode == 1
    assert "exists already" in again.stderr
    bad = snapset("users", "add", "not-an-email", "--data-dir", data)
    assert bad.returncode == 1
    assert "not an email address" in bad.stderr


def test_unknown_views_and_bad_ttls_are_refused(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    for command in (("project", "bogus"), ("rebuild", "bogus")):
        result = snapset(*command, "--data-dir", data)
        assert result.returncode == 2
        assert "Unknown view 'bogus'" in result.stderr
    assert snapset("token", "--api-key", "k", "--api-secret", "s", "--ttl", "0").returncode == 2
