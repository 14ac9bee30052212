"""A snapset deployment for load and soak scripts: one embedded process, or DESIGN.md's split.

`split` runs `snapset migrate`, then a `snapset worker`, a `snapset project` and an API-only
`snapset serve` against one PostgreSQL schema, so a script can SIGKILL and restart the worker
alone. `embedded` runs everything in one `snapset serve --embedded` process. The process
helpers (`migrate`, `spawn`, `stop_process`) also run bench/projection_race.py's deployment.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from uuid import uuid4

from adapters.settings import Settings
from tests.support.server import ServerProcess, snapset_command, start_server

ROOT = Path(__file__).resolve().parents[1]


def migrate(data_dir: Path, env: Mapping[str, str]) -> None:
    """Run `snapset migrate`: every table the processes of a deployment share."""
    subprocess.run(
        snapset_command("migrate", "--data-dir", str(data_dir)),
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def spawn(
    command: str,
    data_dir: Path,
    env: Mapping[str, str],
    output: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start `snapset <command>` (worker, project) in the background; its stdout and stderr
    go to ``output``."""
    return subprocess.Popen(
        snapset_command(command, "--data-dir", str(data_dir)),
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL when it has not exited 15 s later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
        extra: tuple[str, ...]
        if shape == "split":
            if not settings.uses_postgres:
                raise SystemExit("the split shape needs PostgreSQL (--backend postgres)")
            migrate(settings.data_dir, env)
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
                stop_process(process)
            server.stop()

    def spawn(self, command: str) -> subprocess.Popen[bytes]:
        process = spawn(command, self.settings.data_dir, self.env)
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
