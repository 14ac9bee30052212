"""Settings from the environment (``SNAPSET_*``) and command-line overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

MiB = 1 << 20


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("snapset-data")
    database_url: str = ""
    import_root: Path | None = None
    max_body_bytes: int = 1 * MiB
    max_upload_bytes: int = 2048 * MiB
    max_token_ttl: int = 24 * 3600
    lease_seconds: float = 30.0
    write_wait_seconds: float = 5.0  # a write waits this long for the read models
    max_open_tasks: int = 8  # per user: starting one more task answers 429
    read_wait_seconds: float = 5.0  # a read waits this long for them to reach its position
    aggregate_cache_bytes: int = 32 * MiB  # recently used datasets kept in memory

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        env = os.environ
        settings = cls(
            data_dir=Path(env.get("SNAPSET_DATA_DIR", "snapset-data")),
            database_url=env.get("SNAPSET_DATABASE_URL", ""),
            import_root=Path(env["SNAPSET_IMPORT_ROOT"])
            if env.get("SNAPSET_IMPORT_ROOT")
            else None,
            max_body_bytes=int(env.get("SNAPSET_MAX_BODY_BYTES", MiB)),
            max_upload_bytes=int(env.get("SNAPSET_MAX_UPLOAD_BYTES", 2048 * MiB)),
            max_token_ttl=int(env.get("SNAPSET_MAX_TOKEN_TTL", 24 * 3600)),
            lease_seconds=float(env.get("SNAPSET_LEASE_SECONDS", 30.0)),
            write_wait_seconds=float(env.get("SNAPSET_WRITE_WAIT_SECONDS", 5.0)),
            max_open_tasks=int(env.get("SNAPSET_MAX_OPEN_TASKS", 8)),
            aggregate_cache_bytes=int(env.get("SNAPSET_AGGREGATE_CACHE_BYTES", 32 * MiB)),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    def postgres(self) -> dict[str, str]:
        """The URL's parts: dbname, host, port, user, password, schema."""
        url = urlparse(self.database_url)
        query = parse_qs(url.query)
        return {
            "dbname": unquote(url.path.lstrip("/")) or "postgres",
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "user": unquote(url.username or "postgres"),
            "password": unquote(url.password or ""),
            "schema": query.get("schema", ["public"])[0],
        }
