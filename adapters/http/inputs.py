"""Checked inputs: idempotency keys, import-root paths, uploaded files, ISO times."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from uuid import UUID

from starlette.datastructures import FormData, UploadFile

from adapters.http.call import Call
from adapters.http.problems import BadInput
from application.ports import Staging
from domain.errors import Forbidden, Invalid
from domain.ids import from_idempotency_key

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]")
MAX_FILES = 10_000
MAX_NAME_BYTES = 200


def idempotent_id(call: Call[object, object], what: str) -> UUID | None:
    """A deterministic id from the Idempotency-Key header, or None without one."""
    key = call.header("idempotency-key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise BadInput("The Idempotency-Key header must be 1 to 200 visible ASCII characters.")
    return from_idempotency_key(call.actor.user_id, what, key)


def import_folder(import_root: Path | None, source_path: str) -> Path:
    """The folder ``source_path`` names, which must resolve inside the import root."""
    if import_root is None:
        raise Forbidden("This server has no import root, so source_path cannot be used.")
    if "\x00" in source_path:
        raise Invalid("The source_path contains a NUL character.")
    root = import_root.resolve()
    candidate = Path(source_path)
    try:
        resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
        inside = resolved.is_relative_to(root)
        folder = inside and resolved.is_dir()
    except (OSError, RuntimeError, ValueError) as error:  # too long, a link loop, not UTF-8
        raise Invalid(
            f"The source_path {source_path!r} cannot be used as a folder ({_reason(error)})."
        ) from None
    if not inside:
        raise Forbidden(f"The source_path {source_path!r} is outside the import root.")
    if not folder:
        raise Invalid(f"The source_path {source_path!r} is not a folder in the import root.")
    return resolved


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    if isinstance(error, RuntimeError):
        return "a symbolic link loop"
    return "it cannot be encoded as a file name"


def stage_uploads(form: FormData, folder: Path) -> int:
    """Copy the form's ``files`` into ``folder`` under safe names; returns how many."""
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not uploads:
        raise Invalid("Upload at least one file in the 'files' field.")
    if len(uploads) > MAX_FILES:
        raise Invalid(f"Upload at most {MAX_FILES} files at once.")
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for number, upload in enumerate(uploads):
        name = _safe_name(upload.filename or "", number)
        while name.lower() in used:
            name = f"{number}-{name}"
        used.add(name.lower())
        with (folder / name).open("wb") as target:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, target, 1 << 20)
    return len(uploads)


@contextmanager
def staged(form: FormData, staging: Staging, task_id: str) -> Iterator[dict[str, str]]:
    """Stage the uploads for ``task_id``; remove them again if the task is not started."""
    stage_uploads(form, staging.folder(task_id))
    started = False
    try:
        yield {"source": "upload", "task_id": task_id}
        started = True
    finally:
        if not started:
            staging.remove(task_id)


def _safe_name(filename: str, number: int) -> str:
    """A name to stage an upload under: no folders, no odd characters, at most
    ``MAX_NAME_BYTES`` in UTF-8 (file systems take 255), keeping its suffix (which says
    what kind of media it is)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    suffix = PurePosixPath(base).suffix if len(PurePosixPath(base).suffix) <= 16 else ""
    stem = base[: len(base) - len(suffix)]
    while stem and len((stem + suffix).encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    name = stem.rstrip(" .") + suffix if stem.rstrip(" .") else ""
    return name or f"upload-{number}{suffix}"


def form_text(form: FormData, name: str, *, limit: int = 2000) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"The form field {name!r} must be text.")
    if len(value) > limit:
        raise Invalid(f"The form field {name!r} is longer than {limit} characters.")
    if "\x00" in value:
        raise Invalid(f"The form field {name!r} contains a NUL character.")
    return value


def iso_time(value: str | None, name: str) -> str | None:
    """Normalise an ISO 8601 time to the stored form (UTC, no zone), or 422."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 time, not {value!r}.") from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise Invalid(
                f"{name} must be a time between the years 1 and 9999 in UTC, not {value!r}."
            ) from None
    return moment.isoformat(timespec="microseconds")
