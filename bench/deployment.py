"""A snapset deployment for load and soak scripts: one embedded process, or DESIGN.md's split.

`split` runs `snapset migrate`, then a `snapset worker`, a `snapset project` and an API-only
`snapset serve` against one PostgreSQL schema, so a script can SIGKILL and restart the worker
alone. `embedded` runs everything in one `snapset serve --embedded` process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

from adapters.settings import Settings
from tests.support.server import ServerProcess, snapset_command, start_server

ROOT = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Deployment:
    settings: Settings
    server: ServerProcess
    env: dict[str, str]
    app_name: str
    background: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    worker_kills: int = 0

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_key(self) -> str:
        return self.server.api_key

    @property
    def api_secret(self) -> str:
        return self.server.api_secret

    @classmethod
    @contextmanager
    def start(cls, settings: Settings, *, shape: str = "embedded") -> Iterator[Deployment]:
        app_name = f"snapset-bench-{uuid4().hex[:8]}"  # libpq names its connections so
        env = {
            **os.environ,
            "SNAPSET_DATABASE_URL": settings.database_url,
            "SNAPSET_LEASE_SECONDS": str(settings.lease_seconds),
            "PGAPPNAME": app_name,
        }
        data = str(settings.data_dir)
        if shape == "split":
            if not settings.uses_postgres:
                raise SystemExit("the split shape needs PostgreSQL (--backend postgres)")
            subprocess.run(
                snapset_command("migrate", "--data-dir", data),
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            extra = ("--api-only",)
        else:
            extra = ("--embedded",) if settings.uses_postgres else ()
        server = start_server(
            settings.data_dir, database_url=settings.database_url, extra_args=extra, extra_env=env
        )
        deployment = cls(settings, server, env, app_name)
        try:
            if shape == "split":
                deployment.spawn("project")
                deployment.spawn("worker")
            yield deployment
        finally:
            for process in deployment.background.values():
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            server.stop()

    def spawn(self, command: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            snapset_command(command, "--data-dir", str(self.settings.data_dir)),
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.background[command] = process
        return process

    def kill_worker(self) -> None:
        """SIGKILL the worker process and start a new one (split shape only)."""
        worker = self.background["worker"]
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        self.worker_kills += 1
        self.spawn("worker")

    def pids(self) -> dict[str, int]:
        found = {"api": self.server.process.pid}
        found.update({name: p.pid for name, p in self.background.items()})
        return found
