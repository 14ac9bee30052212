"""The ``snapset`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from adapters.backend import open_backend
from adapters.read_models import VIEW_NAMES
from adapters.settings import Settings
from application.worker import WorkerObserver


def main(argv: list[str] | None = None, *, observer: WorkerObserver | None = None) -> int:
    """Run a command. ``observer`` watches this process's task worker (a test seam:
    ``tests/support/paced_worker.py`` paces it so a kill lands inside a task)."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.observer = observer
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings.from_env(
        data_dir=Path(args.data_dir) if args.data_dir else None,
        import_root=Path(args.import_root) if getattr(args, "import_root", None) else None,
    )
    result: int = args.run(args, settings)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snapset", description="Versioned visual datasets.")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--data-dir", help="data directory (default: $SNAPSET_DATA_DIR or ./snapset-data)"
        )
        sub.set_defaults(run=run)
        return sub

    serve = command(
        "serve",
        _serve,
        "Run the HTTP API (embedded: with projections and a worker, the default on SQLite).",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--import-root", help="the only folder tree source_path may name")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument(
        "--embedded",
        action="store_true",
        default=None,
        help="also run projections and a worker in this process",
    )
    mode.add_argument("--api-only", action="store_true", help="serve the API only")
    worker = command("worker", _worker, "Run a task worker.")
    worker.add_argument("--import-root")
    project = command("project", _project, "Run projections (all, or the ones named).")
    project.add_argument(
        "views", nargs="*", metavar="VIEW", help=f"any of {', '.join(VIEW_NAMES)} (default: all)"
    )
    ingest = command(
        "import",
        _import,
        "Ingest a local folder, file or zip into a dataset "
        "(created if new), in this process, with progress.",
    )
    ingest.add_argument("path", metavar="PATH", help="a folder, an image, a video or a zip")
    ingest.add_argument(
        "--dataset",
        required=True,
        metavar="NAME",
        help="a dataset you own by name (created if none has it), or an id",
    )
    ingest.add_argument(
        "--as",
        dest="email",
        metavar="EMAIL",
        help="the user who imports (default: the first admin, created if there is none yet)",
    )
    command("migrate", _migrate, "Create the database tables that do not exist yet.")
    rebuild = command("rebuild", _rebuild, "Replay every event into fresh read models.")
    rebuild.add_argument(
        "views", nargs="*", metavar="VIEW", help=f"any of {', '.join(VIEW_NAMES)} (default: all)"
    )
    gc = command("gc", _gc, "Remove content-tree nodes no live version reaches.")
    gc.add_argument("--grace-seconds", type=float, default=3600.0)
    users = command("users", lambda a, s: 2, "Manage users.")
    user_commands = users.add_subparsers(required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="Create a user; prints its key and secret.")
    add.add_argument("--data-dir")
    add.add_argument("email")
    add.add_argument("--role", default="user", choices=["user", "admin"])
    add.add_argument("--json", action="store_true", help="print exactly the key and secret")
    add.set_defaults(run=_users_add)
    token = command("token", _token, "Print a JWT for curl users.")
    token.add_argument("--api-key", required=True)
    token.add_argument("--api-secret", required=True)
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from adapters.first_admin import ensure_first_admin
    from adapters.http.app import create_app
    from adapters.runtime import build_runtime

    runtime = build_runtime(settings, limit_tasks=True, observer=args.observer)
    ensure_first_admin(runtime.app)
    embedded = not args.api_only and (args.embedded or not settings.uses_postgres)
    app = create_app(runtime, settings, run_projections=embedded, run_worker=embedded)
    where = "PostgreSQL" if settings.uses_postgres else f"SQLite in {settings.data_dir}"
    print(
        f"snapset serving on http://{args.host}:{args.port} ({where}; "
        f"{'embedded projections and worker' if embedded else 'API only'})",
        flush=True,
    )
    try:
        # h11 refuses a request head over its buffer (16 KiB) with a bare 400, or not,
        # depending on how the bytes arrive; 128 KiB lets an oversized token always reach
        # the app and get its 401 with a detail.
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
            h11_max_incomplete_event_size=128 * 1024,
        )
    finally:
        runtime.close()
    return 0


def _run_until_signalled(
    args: argparse.Namespace,
    settings: Settings,
    *,
    projections: bool,
    worker: bool,
    only: tuple[str, ...] = (),
) -> int:
    from adapters.runtime import build_runtime

    runtime = build_runtime(settings, observer=args.observer)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start(projections=projections, worker=worker, only=only)
    print(f"snapset {'worker' if worker else 'projector'} running", flush=True)
    stop.wait()
    runtime.close()
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    return _run_until_signalled(args, settings, projections=False, worker=True)


def _chosen_views(names: list[str]) -> list[str] | None:
    unknown = sorted(set(names) - set(VIEW_NAMES))
    if unknown:
        print(f"Unknown view {unknown[0]!r}; views are: {', '.join(VIEW_NAMES)}", file=sys.stderr)
        return None
    return names or list(VIEW_NAMES)


def _project(args: argparse.Namespace, settings: Settings) -> int:
    views = _chosen_views(args.views)
    if views is None:
        return 2
    return _run_until_signalled(args, settings, projections=True, worker=False, only=tuple(views))


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.cli_import import ImportRequest, run_import

    return run_import(settings, ImportRequest(Path(args.path), args.dataset, args.email))


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    open_backend(settings, migrate=True).close()
    print("Tables are up to date.")
    return 0


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from adapters.progress import Progress
    from adapters.runtime import build_runtime

    names = _chosen_views(args.views)
    if names is None:
        return 2
    runtime = build_runtime(settings)
    last = runtime.app.position()  # the bar runs to the log's end as it is now
    for name in names:
        projector = runtime.projectors[name]
        projector.batch_size = 2000
        started = time.monotonic()
        projector.store.clear()
        projector.forget_position()
        events = 0
        with Progress(f"rebuild {name}", "event", total=last) as progress:
            while count := projector.step():
                events += count
                progress.update(projector.position)  # its log position
        seconds = time.monotonic() - started
        print(
            f"{name}: {events} events in {seconds:.2f} s "
            f"({events / max(seconds, 1e-9):.0f} events/s)"
        )
    runtime.close()
    return 0


def _gc(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.export_folder import ExportFolder
    from adapters.progress import phase
    from adapters.staging import StagingFolder
    from application.garbage import collect_garbage, collect_task_leftovers

    backend = open_backend(settings)
    with phase("gc: content-tree nodes no live version reaches") as outcome:
        nodes = collect_garbage(backend.app, backend.nodes, grace_seconds=args.grace_seconds)
        outcome.append(f"{nodes:,} swept")
    with phase("gc: staged uploads no open task owns") as outcome:
        folders = collect_task_leftovers(
            backend.app,
            StagingFolder(settings.data_dir / "staging"),
            grace_seconds=args.grace_seconds,
        )
        outcome.append(f"{folders:,} swept")
    with phase("gc: blobs and archives a killed task left half-written") as outcome:
        waiting = collect_task_leftovers(
            backend.app, backend.blobs, grace_seconds=args.grace_seconds
        )
        waiting += collect_task_leftovers(
            backend.app,
            ExportFolder(settings.data_dir / "exports"),
            grace_seconds=args.grace_seconds,
        )
        outcome.append(f"{waiting:,} swept")
    print(
        f"Removed {nodes} unreachable nodes, {folders} orphaned upload folders and "
        f"{waiting} leftovers of killed tasks."
    )
    backend.close()
    return 0


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    from domain.errors import DomainError

    backend = open_backend(settings)
    try:
        api_key, api_secret = backend.app.register_user(args.email, args.role)
    except DomainError as error:
        print(error.detail, file=sys.stderr)
        return 1
    finally:
        backend.close()
    if args.json:
        print(json.dumps({"api_key": api_key, "api_secret": api_secret}))
    else:
        print(
            f"Created {args.role} {args.email}. The secret is shown only now:\n"
            f"  api_key:    {api_key}\n  api_secret: {api_secret}"
        )
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.http.auth import make_token

    if args.ttl <= 0:
        print("--ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    print(make_token(args.api_key, args.api_secret, args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
