"""PostgreSQL faults for tests: a private cluster to crash, and a proxy that cuts a COMMIT.

``PrivateCluster`` is a throwaway cluster (Debian's pg_createcluster, as root; CI runs as root
with PostgreSQL installed) on a free port, so a test can stop it with ``-m immediate`` (a
crash: no checkpoint, recovery from the WAL at the next start) without touching the shared
cluster on port 5432 that every other test uses. It is dropped at the end. Without root or
the Debian tools it raises ``ClusterUnavailable`` with what is missing; the fixture turns that
into a failure, never a skip.

``CommitCutProxy`` sits between snapset and PostgreSQL and reads the wire protocol. Once armed,
it waits for a transaction that inserted stored events and, when the server answers its
COMMIT, closes both sides instead of passing the answer on: the write is durable, and the
client never hears so. That is the ambiguous commit a backend killed right after COMMIT gives.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

_TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")
_CONFIG = "ssl = off\nlisten_addresses = '127.0.0.1'\nfsync = on\nsynchronous_commit = on\n"


class ClusterUnavailable(Exception):
    """This machine cannot make a private cluster (not root, or no Debian PostgreSQL tools)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )


@dataclass
class PrivateCluster:
    version: str
    name: str
    port: int

    @classmethod
    def create(cls, prefix: str = "snapset_crash") -> PrivateCluster:
        """Create and start a cluster with trust auth on 127.0.0.1 and durability on."""
        missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
        if missing:
            raise ClusterUnavailable(
                f"{', '.join(missing)} not found: install the Debian "
                "postgresql-common tools (CI has them)."
            )
        if os.geteuid() != 0:
            raise ClusterUnavailable(
                "Creating a private PostgreSQL cluster needs root (CI runs "
                "as root); run the PostgreSQL crash tests as root."
            )
        versions = (
            sorted(
                (
                    p.name
                    for p in Path("/etc/postgresql").iterdir()
                    if p.name.replace(".", "").isdigit()
                ),
                key=lambda v: [int(x) for x in v.split(".")],
            )
            if Path("/etc/postgresql").is_dir()
            else []
        )
        if not versions:
            raise ClusterUnavailable("No PostgreSQL version under /etc/postgresql.")
        _drop_orphans(versions[-1], prefix)
        cluster = cls(versions[-1], f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}", _free_port())
        _run(
            "pg_createcluster",
            cluster.version,
            cluster.name,
            "--port",
            str(cluster.port),
            "--start-conf",
            "manual",
            "--",
            "--auth-local=trust",
            "--auth-host=trust",
        )
        try:
            conf = Path("/etc/postgresql") / cluster.version / cluster.name / "conf.d"
            conf.mkdir(exist_ok=True)
            (conf / "snapset-test.conf").write_text(_CONFIG)
            cluster.start()
        except BaseException:
            cluster.drop()
            raise
        return cluster

    def url(self, dbname: str = "postgres", port: int | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port or self.port}/{dbname}"

    def create_database(self) -> str:
        name = f"snapset_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def start(self, timeout: float = 60.0) -> None:
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # the server is starting; there is nothing to wait on

    def crash(self) -> None:
        """Stop like a power cut: no shutdown checkpoint, recovery at the next start."""
        _run(
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            self.version,
            self.name,
            "stop",
            "-m",
            "immediate",
        )

    def drop(self) -> None:
        _run("pg_dropcluster", "--stop", self.version, self.name)


def _drop_orphans(version: str, prefix: str) -> None:
    """Drop clusters a killed test run left behind (their creator's pid is gone)."""
    for folder in (Path("/etc/postgresql") / version).glob(f"{prefix}_*"):
        pid = folder.name.removeprefix(f"{prefix}_").split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(
                ["pg_dropcluster", "--stop", version, folder.name], capture_output=True, check=False
            )


# The proxy.

_NEGOTIATIONS = {80877103, 80877104}  # SSLRequest, GSSENCRequest: answered "N" here


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return bytes(data)


def _messages(sock: socket.socket) -> Iterator[list[tuple[bytes, bytes]]]:
    """Typed protocol messages as they arrive: lists of (type byte, whole message bytes)."""
    buffer = bytearray()
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
        ready = []
        while len(buffer) >= 5:
            end = 1 + int.from_bytes(buffer[1:5], "big")
            if len(buffer) < end:
                break
            ready.append((bytes(buffer[:1]), bytes(buffer[:end])))
            del buffer[:end]
        yield ready


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    prepared: dict[bytes, bool] = field(default_factory=dict)
    wrote_events: bool = False

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class CommitCutProxy:
    """A PostgreSQL proxy on 127.0.0.1 that can cut one event-writing COMMIT's answer."""

    def __init__(self, upstream_port: int, events_table: str = "snapset_events") -> None:
        self.upstream_port = upstream_port
        self._insert = f'."{events_table}"'.encode()
        self._armed = threading.Event()
        self.cut = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="pg-proxy", daemon=True).start()

    def arm(self) -> None:
        """Cut the next COMMIT of a transaction that inserts stored events."""
        self.cut.clear()
        self._armed.set()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for link in self._links:
                link.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._open, args=(client,), daemon=True).start()

    def _open(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(client, server)
        with self._lock:
            self._links.append(link)
        try:
            while True:  # untyped startup packets; refuse encryption so the rest is readable
                head = _exactly(client, 8)
                body = _exactly(client, int.from_bytes(head[:4], "big") - 8)
                if int.from_bytes(head[4:], "big") in _NEGOTIATIONS:
                    client.sendall(b"N")
                    continue
                server.sendall(head + body)
                break
        except (OSError, ConnectionError):
            link.close()
            return
        threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
        self._downstream(link)

    def _upstream(self, link: _Link) -> None:
        """Client to server: note which statements insert stored events, pass all on."""
        try:
            for batch in _messages(link.client):
                for kind, message in batch:
                    self._note(link, kind, message[5:])
                link.server.sendall(b"".join(message for _, message in batch))
        except (OSError, ConnectionError, IndexError, ValueError):
            link.close()

    def _note(self, link: _Link, kind: bytes, body: bytes) -> None:
        if kind == b"Q" and self._is_insert(body):
            link.wrote_events = True
        elif kind == b"P":
            name, rest = body.split(b"\0", 1)
            link.prepared[name] = self._is_insert(rest.split(b"\0", 1)[0])
        elif kind == b"B" and link.prepared.get(body.split(b"\0", 2)[1]):
            link.wrote_events = True

    def _downstream(self, link: _Link) -> None:
        """Server to client: pass everything on, except the answer to an armed COMMIT."""
        try:
            for batch in _messages(link.server):
                for kind, message in batch:
                    tag = message[5:].rstrip(b"\0") if kind == b"C" else b""
                    if tag == b"COMMIT" and link.wrote_events and self._armed.is_set():
                        self._armed.clear()
                        self.cut.set()
                        link.close()
                        return
                    if tag in (b"COMMIT", b"ROLLBACK"):
                        link.wrote_events = False
                link.client.sendall(b"".join(message for _, message in batch))
        except (OSError, ConnectionError):
            link.close()

    def _is_insert(self, statement: bytes) -> bool:
        return b"INSERT INTO" in statement and self._insert in statement
