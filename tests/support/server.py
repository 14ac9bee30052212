"""A real snapset server in a subprocess, and its first admin's credentials."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    base_url: str
    api_key: str
    api_secret: str
    process: subprocess.Popen[str]
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    pump: threading.Thread | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.pump is not None:
            self.pump.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def snapset_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "adapters.cli", "--log-level", "warning", *args]


def start_server(
    data_dir: Path,
    *,
    database_url: str = "",
    import_root: Path | None = None,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> ServerProcess:
    port = free_port()
    env = {**os.environ, "SNAPSET_DATABASE_URL": database_url, **(extra_env or {})}
    args = ["serve", "--port", str(port), "--data-dir", str(data_dir), *extra_args]
    if import_root is not None:
        args += ["--import-root", str(import_root)]
    process = subprocess.Popen(
        snapset_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    api_key = api_secret = ""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if match := re.search(r"api_key:\s+(\S+)", line):
            api_key = match.group(1)
        if match := re.search(r"api_secret:\s+(\S+)", line):
            api_secret = match.group(1)
        if "serving on" in line:
            break
    base_url = f"http://127.0.0.1:{port}"
    server = ServerProcess(base_url, api_key, api_secret, process, data_dir, env)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                server.pump = _drain(process)
                return server
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("snapset did not start:\n" + "".join(lines))


def _drain(process: subprocess.Popen[str]) -> threading.Thread:
    """Keep reading the server's output so its pipe never fills up and blocks it."""

    def pump() -> None:
        assert process.stdout is not None
        for _ in process.stdout:
            pass

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread
