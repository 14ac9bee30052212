"""Fixtures shared by every tier: backends (SQLite file, PostgreSQL schema), runtimes, actors.

PostgreSQL tests use a fresh schema per test in the database named by
SNAPSET_TEST_DATABASE_URL (default: the local `test` database). They never skip silently:
only SNAPSET_TEST_POSTGRES=skip (for a laptop without PostgreSQL) turns them off.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from application.actor import Actor

BASE_URL = os.environ.get("SNAPSET_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SNAPSET_TEST_POSTGRES") == "skip":
        marker = pytest.mark.skip(reason="SNAPSET_TEST_POSTGRES=skip")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(marker)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose schema is fresh for this test and dropped after it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{BASE_URL}?schema={schema}"
    base = BASE_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def settings(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("postgres_url") if backend_name == "postgres" else ""
    (tmp_path / "imports").mkdir()
    return Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        import_root=tmp_path / "imports",
        lease_seconds=5.0,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = build_runtime(settings)
    yield built
    built.close()


@pytest.fixture
def admin(runtime: Runtime) -> Actor:
    return register(runtime, "admin@example.com", "admin")


@pytest.fixture
def alice(runtime: Runtime) -> Actor:
    return register(runtime, "alice@example.com")


@pytest.fixture
def bob(runtime: Runtime) -> Actor:
    return register(runtime, "bob@example.com")


def register(runtime: Runtime, email: str, role: str = "user") -> Actor:
    api_key, _ = runtime.app.register_user(email, role)
    user = runtime.app.get_user_by_api_key(api_key)
    assert user is not None
    return Actor(str(user.id), user.email, user.is_admin)
