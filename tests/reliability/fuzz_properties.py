"""Properties of every input parser we wrote, for Hypothesis to try with hostile input.

Shared by tests/reliability/test_parser_fuzz.py (a few thousand inputs in CI) and
bench/fuzz.py (a million and more). Each ``Parser`` has a strategy and a ``check`` that feeds
one input to our real code and raises ``Crash`` when the code breaks its contract:

- it raises anything but its documented errors (the ones the HTTP layer turns into 4xx:
  ``Invalid``, ``Forbidden``, ``BadInput``, ``Unauthorized``, pydantic's ``ValidationError``;
  ``RowsUnreadable``/``ValueRejected`` inside the metadata import, which reports them);
- or what it returns is not well typed or breaks its promise (a folder outside the import
  root, a staged file outside its folder, a token accepted that was not signed right).

Parsers: explore query strings (``meta.F=``, ``meta.F.gte=``, tags, paging), ISO times of
the task and history filters, metadata schemas and values, CSV and JSON row files and the
multipart import form, import-root paths, upload file names, zip members, JWTs and the
Authorization header / session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import math
import random
import re
import shutil
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

from hypothesis import strategies as st
from PIL import Image
from pydantic import ValidationError
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import Request

from adapters.http.auth import MAX_TOKEN_BYTES, Credentials, TokenVerifier
from adapters.http.endpoint import _query_dict
from adapters.http.inputs import _safe_name, import_folder, iso_time, stage_uploads
from adapters.http.metadata_upload import form_body, staged_rows
from adapters.http.models_explore import MediaQuery
from adapters.http.problems import HttpProblem
from adapters.http.routes.explore import _metadata_conditions, _tags, _typed
from adapters.http.web_session import authenticate
from adapters.media_probe import PillowProbe
from adapters.staging import StagingFolder
from adapters.storage.blobs import BlobFolder
from application.operations.ingest import Ingest, _Report
from application.operations.metadata_import import check_columns
from application.operations.metadata_rows import RowReader, RowsUnreadable, csv_header
from application.operations.sorted_spill import SortedSpill
from domain.errors import DomainError
from domain.metadata_schema import (
    ENUM_TYPES,
    FIELD_TYPES,
    ValueRejected,
    check_value,
    merge_schemas,
    parse_schema,
)
from projections.media_index import FieldFilter, MediaFilter


class Crash(AssertionError):
    """The parser broke its contract on this input."""


# The errors each kind of parser may raise: the HTTP layer answers them with a 4xx.
HTTP_ERRORS: tuple[type[BaseException], ...] = (DomainError, HttpProblem, ValidationError)
ROW_ERRORS: tuple[type[BaseException], ...] = (DomainError, RowsUnreadable, ValueRejected)


@dataclass
class Parser:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    weight: float  # its share of a long run's inputs
    mutate: Callable[[Any, random.Random], Any]  # a cheap variant of an input (long runs)

    def run(self, value: Any) -> None:
        """``check``, with the input named in the Crash."""
        try:
            self.check(value)
        except Crash as crash:
            raise Crash(f"{self.name}: {crash}\n    input: {value!r}"[:3000]) from crash


def guarded(allowed: tuple[type[BaseException], ...], run: Callable[[], Any]) -> Any:
    """``run()``; None if it raised an allowed error; any other exception becomes a Crash."""
    try:
        return run()
    except allowed:
        return None
    except Crash:
        raise
    except Exception as error:
        raise Crash(f"{type(error).__name__}: {error}"[:500]) from error


def expect(condition: bool, why: str) -> None:
    if not condition:
        raise Crash(why)


# Shared pieces of hostile text.

NASTY = [
    "",
    " ",
    ".",
    "..",
    "/",
    "\\",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    ",",
    ";",
    "%",
    "%00",
    "%ff",
    "+",
    "&",
    "=",
    "#",
    "?",
    "'",
    '"',
    "\u202e",
    "\ufeff",
    "\ud800",
    "é",
    "漢",
    "😀",
    "NaN",
    "Infinity",
    "-0",
    "1e999",
    "0x10",
    "\uff11\uff12",
    "\u0661\u0662",
    "\x1c",
    "\u2003",
    "a" * 300,
    "漢" * 100,
    "meta.",
    ".gte",
    ".lte",
]
nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), max_size=5).map("".join),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    nasty_text,
    st.integers(min_value=-(10**400), max_value=10**400),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=12,
)


# Explore: the media list's query string.

FIXED_KEYS = [
    "page",
    "page_size",
    "snapshot_id",
    "kind",
    "tag",
    "label",
    "cluster_id",
    "q",
    "sort_by",
    "sort_order",
]
FIELDS = ["score", "shot", "kind", "a", "x" * 200, "score.gte", ".", "", "漢", "a b", "a%00"]


def _query_key() -> st.SearchStrategy[str]:
    meta = st.tuples(
        st.sampled_from(["meta.", "meta", "Meta.", "meta.."]),
        st.one_of(st.sampled_from(FIELDS), nasty_text),
        st.sampled_from(["", ".gte", ".lte", ".gt", ".gte.lte", ".lte.gte"]),
    ).map("".join)
    return st.one_of(st.sampled_from(FIXED_KEYS), meta, nasty_text)


def _query_value() -> st.SearchStrategy[str]:
    return st.one_of(
        nasty_text,
        st.integers().map(str),
        st.floats().map(repr),
        st.sampled_from(
            [
                "image",
                "video",
                "asc",
                "desc",
                "file_name",
                "size",
                str(uuid4()),
                "cat,dog",
                ",,",
                "1",
                "0",
                "-1",
                "100",
            ]
        ),
        st.text(max_size=1100),
    )


def _encode(part: str, raw: bool) -> bytes:
    if raw:  # sent as is, as a careless client would
        return part.encode("utf-8", "surrogatepass")
    return "".join(
        c
        if c.isascii() and c.isalnum()
        else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in part
    ).encode("ascii")


query_strings = st.one_of(
    st.lists(st.tuples(_query_key(), _query_value(), st.booleans()), max_size=25).map(
        lambda pairs: b"&".join(_encode(k, raw) + b"=" + _encode(v, raw) for k, v, raw in pairs)
    ),
    st.binary(max_size=300),
)


def check_explore_query(case: tuple[bytes, int]) -> None:
    """The media list's query, parsed as the endpoint does: 400/422 or well-typed filters."""
    raw, numeric_mask = case
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": raw}
    )

    def parse() -> tuple[
        MediaQuery, dict[str, dict[str, str]], tuple[str, ...], tuple[FieldFilter, ...]
    ]:
        query = MediaQuery.model_validate(_query_dict(request))
        conditions = _metadata_conditions(query.model_extra or {})
        tags = _tags(query.tag)
        fields = sorted(conditions)
        numeric = {f for i, f in enumerate(fields) if numeric_mask >> (i % 60) & 1}
        typed = _typed(conditions, numeric)
        MediaFilter(
            kind=query.kind,
            tags=tags,
            label=query.label or None,
            cluster_id=query.cluster_id or None,
            name_contains=query.q or None,
            fields=typed,
        )
        return query, conditions, tags, typed

    parsed = guarded(HTTP_ERRORS, parse)
    if parsed is None:
        return
    query, conditions, tags, typed = parsed
    expect(query.page >= 1 and 1 <= query.page_size <= 100, f"paging {query.page}")
    expect(len(conditions) <= 20, f"{len(conditions)} metadata fields")
    for name, ops in conditions.items():
        expect(isinstance(name, str) and name != "", f"field {name!r}")
        expect(set(ops) <= {"equals", "gte", "lte"}, f"operators {ops}")
        expect(all(isinstance(v, str) and len(v) <= 1000 for v in ops.values()), "values")
    extra = query.model_extra or {}
    expect(all(k.startswith("meta.") for k in extra), f"unknown keys kept: {list(extra)}")
    expect(len(tags) <= 20 and list(tags) == sorted(set(tags)), f"tags {tags}")
    expect(all(t and t == t.strip() and "," not in t for t in tags), f"tags {tags}")
    expect({f.field for f in typed} == set(conditions), "every field filtered once")
    for item in typed:
        for bound in (item.gte, item.lte):
            expect(
                bound is None
                or isinstance(bound, str)
                or (isinstance(bound, float) and math.isfinite(bound)),
                f"bound {bound!r}",
            )


# ISO times of the task and history filters.

STORED_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
iso_texts = st.one_of(
    nasty_text,
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.tuples(
        st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-29", "2023-02-29"]),
        st.sampled_from(["", "T00:00", "T23:59:59", "T23:59:59.999999", " 12:00"]),
        st.sampled_from(["", "Z", "+01:00", "-01:00", "+23:59", "-23:59", "+24:00", "z", "UTC"]),
    ).map("".join),
)


def check_iso_time(text: str) -> None:
    out = guarded(HTTP_ERRORS, lambda: iso_time(text, "start_time_from"))
    if out is None:
        return
    expect(isinstance(out, str) and bool(STORED_TIME.match(out)), f"stored form {out!r}")
    given = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if given.tzinfo is not None:
        given = given.astimezone(UTC).replace(tzinfo=None)
    expect(datetime.fromisoformat(out) == given, f"{text!r} became {out!r}")


# Custom metadata: schemas, values, row files and the multipart form.

specs = st.one_of(
    st.sampled_from(FIELD_TYPES),
    json_values,
    st.fixed_dictionaries(
        {"type": st.sampled_from(FIELD_TYPES)},
        optional={"options": st.lists(nasty_text, max_size=6), "extra": json_scalars},
    ),
)
raw_schemas = st.one_of(
    json_values,
    st.dictionaries(
        st.one_of(
            st.sampled_from(["score", "kind", "tags", "media_id", "_x", "9a", "a" * 65]), nasty_text
        ),
        specs,
        max_size=6,
    ),
)


def _canonical(schema: Any) -> bool:
    return isinstance(schema, dict) and all(
        isinstance(name, str)
        and isinstance(spec, dict)
        and spec.get("type") in FIELD_TYPES
        and (
            set(spec) == {"type", "options"}
            if spec["type"] in ENUM_TYPES
            else set(spec) == {"type"}
        )
        for name, spec in schema.items()
    )


def check_schema(case: tuple[Any, Any]) -> None:
    current_raw, new_raw = case

    def parse() -> tuple[Any, Any]:
        current = parse_schema(current_raw)
        return current, merge_schemas(current, parse_schema(new_raw))

    parsed = guarded(HTTP_ERRORS, parse)
    if parsed is None:
        return
    current, merged = parsed
    expect(_canonical(current) and _canonical(merged), f"not canonical: {merged!r}")
    for name, spec in current.items():
        expect(merged[name]["type"] == spec["type"], f"{name} changed type")
        if spec["type"] in ENUM_TYPES:
            expect(
                merged[name]["options"][: len(spec["options"])] == spec["options"],
                f"{name} lost options",
            )


SPECS = [
    {"type": "string"},
    {"type": "float"},
    {"type": "datetime"},
    {"type": "link"},
    {"type": "enum", "options": ["a", "b", "漢"]},
    {"type": "multi_enum", "options": ["a", "b", "c d"]},
]
value_cases = st.tuples(
    st.sampled_from(SPECS),
    st.one_of(
        json_values,
        iso_texts,
        st.sampled_from(
            [
                "http://x",
                "https://a.b/c?d#e",
                "http://[::1]:99999",
                "http://a:b@",
                "a;b",
                " a ; b ",
                "a;;b",
                "1.5",
                " 2e3 ",
                "-.5",
            ]
        ),
    ),
    st.booleans(),
)


def check_metadata_value(case: tuple[dict[str, Any], Any, bool]) -> None:
    spec, value, text = case
    if text and not isinstance(value, str):
        value = json.dumps(value)
    out = guarded(ROW_ERRORS, lambda: check_value(spec, value, text=text))
    if out is None:
        return
    kind = spec["type"]
    if kind == "float":
        expect(isinstance(out, float) and math.isfinite(out), f"float {out!r}")
    elif kind == "datetime":
        expect(
            isinstance(out, str)
            and bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", out)),
            f"datetime {out!r}",
        )
    elif kind == "enum":
        expect(out in spec["options"], f"enum {out!r}")
    elif kind == "multi_enum":
        expect(
            isinstance(out, list) and out == [o for o in spec["options"] if o in out],
            f"multi_enum {out!r}",
        )
    else:
        expect(isinstance(out, str) and "\x00" not in out, f"{kind} {out!r}")


CSV_SCHEMA = parse_schema(
    {
        "score": "float",
        "shot": "datetime",
        "note": "string",
        "kind": {"type": "enum", "options": ["a", "b"]},
    }
)


def _csv_cell(value: str, quote: bool) -> str:
    return '"' + value.replace('"', '""') + '"' if quote else value


csv_cells = st.one_of(nasty_text, st.sampled_from(['"', '""', '"a', 'a"b', "1.5", "a\nb"]))
csv_files = st.one_of(
    st.tuples(
        st.lists(
            st.sampled_from(
                [
                    "media_id",
                    "file_name",
                    "score",
                    "shot",
                    "note",
                    "kind",
                    "other",
                    " score ",
                    "",
                    "media_id",
                ]
            ),
            max_size=6,
        ),
        st.lists(st.lists(st.tuples(csv_cells, st.booleans()), max_size=7), max_size=8),
        st.sampled_from(["\n", "\r\n", "\r"]),
        st.booleans(),
    ).map(
        lambda p: (
            (b"\xef\xbb\xbf" if p[3] else b"")
            + p[2]
            .join(
                ",".join(_csv_cell(c, q) for c, q in row)
                for row in [[(h, False) for h in p[0]], *p[1]]
            )
            .encode("utf-8", "surrogatepass")
        )
    ),
    st.binary(max_size=400),
)


def _rows(reader: RowReader, key: str) -> list[Any]:
    rows = list(reader.rows())
    numbers = [row.number for row in rows]
    expect(
        numbers == sorted(set(numbers)) and all(n >= 1 for n in numbers), f"row numbers {numbers}"
    )
    for row in rows:
        expect(isinstance(row.values, dict), "row values")
        if row.problem is not None:
            expect(row.values == {}, "a problem row has values")
            continue
        for name, value in row.values.items():
            if reader.fmt == "csv":
                expect(isinstance(value, str), f"csv cell {value!r}")
            spec = CSV_SCHEMA.get(name)
            if spec is not None and name != key:
                guarded(ROW_ERRORS, lambda s=spec, v=value, t=row.text: check_value(s, v, text=t))
    return rows


def make_csv_check(workdir: Path) -> Callable[[bytes], None]:
    path = workdir / "rows.csv"

    def check(data: bytes) -> None:
        path.write_bytes(data)

        def read() -> None:
            columns = csv_header(path)
            expect(all(c and c == c.strip() for c in columns), f"columns {columns}")
            expect(len(columns) == len(set(columns)), f"columns {columns}")
            check_columns(columns, "media_id", CSV_SCHEMA)
            _rows(RowReader(path, "csv"), "media_id")

        guarded(ROW_ERRORS, read)

    return check


json_files = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(
        st.dictionaries(
            st.sampled_from(["media_id", "file_name", "score", "shot", "kind", "note", "zzz"]),
            json_values,
            max_size=5,
        ),
        max_size=6,
    ).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.binary(max_size=300),
)


def make_json_check(workdir: Path) -> Callable[[bytes], None]:
    path = workdir / "rows.json"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        guarded(ROW_ERRORS, lambda: _rows(RowReader(path, "json"), "media_id"))

    return check


form_cases = st.tuples(
    st.dictionaries(
        st.sampled_from(["schema", "key", "file", "rows", "extra"]),
        st.one_of(nasty_text, raw_schemas.map(json.dumps)),
        max_size=4,
    ),
    st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(
                ["rows.csv", "rows.json", "ROWS.CSV", "rows", "", "../rows.csv", "a/b.json"]
            ),
            st.sampled_from(
                ["text/csv", "application/json", "application/json; charset=x", "", "image/png"]
            ),
            st.one_of(csv_files, json_files),
        ),
    ),
)


def make_form_check(workdir: Path) -> Callable[[Any], None]:
    staging = StagingFolder(workdir / "staging")

    def check(case: tuple[dict[str, str], tuple[str, str, bytes] | None]) -> None:
        fields, upload = case
        items: list[tuple[str, str | UploadFile]] = list(fields.items())
        if upload is not None:
            name, content_type, data = upload
            items.append(
                (
                    "file",
                    UploadFile(
                        io.BytesIO(data),
                        size=len(data),
                        filename=name,
                        headers=Headers({"content-type": content_type}),
                    ),
                )
            )
        form = FormData(items)
        task_id = str(uuid4())

        def stage() -> bool:
            body = form_body(form)
            schema = merge_schemas({}, parse_schema(body.field_schema))
            with staged_rows(form, body, schema, staging, task_id) as params:
                staged = staging.folder(task_id) / params["file"]
                expect(
                    staged.parent == staging.folder(task_id) and staged.is_file(),
                    f"staged at {staged}",
                )
                expect(params["format"] in ("csv", "json"), f"format {params}")
            return True

        try:
            if guarded(HTTP_ERRORS, stage) is None:
                expect(not staging.folder(task_id).exists(), "a refused import left files")
        finally:
            staging.remove(task_id)

    return check


# Paths: import-root folders, upload names, zip members.

PATH_PARTS = [
    "..",
    ".",
    "",
    "photos",
    "photos/inner",
    "escape",
    "loop",
    "dangling",
    "file.png",
    "missing",
    "/",
    "//",
    "\\",
    "\x00",
    "a" * 255,
    "a" * 256,
    "漢" * 90,
    "\ud800",
    "~",
    "$HOME",
    "%2e%2e",
    "..\\..",
    " ",
    "photos ",
]


def make_import_root(workdir: Path) -> Path:
    """An import root with a folder, a file, links out of it, a loop and a dangling link."""
    root, outside = workdir / "imports", workdir / "outside"
    (root / "photos" / "inner").mkdir(parents=True)
    outside.mkdir()
    (root / "photos" / "file.png").write_bytes(b"x")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "photos" / "up").symlink_to(root, target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling").symlink_to(workdir / "nothing")
    return root


import_paths = st.one_of(
    st.lists(st.one_of(st.sampled_from(PATH_PARTS), nasty_text), max_size=8).map("/".join),
    st.tuples(
        st.sampled_from(["/", "//", "ROOT/", "ROOT/../", "ROOT/photos/../../"]),
        st.lists(st.sampled_from(PATH_PARTS), max_size=5).map("/".join),
    ).map("".join),
    st.integers(min_value=1, max_value=2100).map(lambda n: "a/" * n),
    nasty_text,
)


def make_import_folder_check(workdir: Path) -> Callable[[str], None]:
    root = make_import_root(workdir)
    real_root = root.resolve()

    def check(source_path: str) -> None:
        given = source_path.replace("ROOT", str(root))
        folder = guarded(HTTP_ERRORS, lambda: import_folder(root, given))
        if folder is None:
            return
        expect(
            isinstance(folder, Path) and folder.is_relative_to(real_root),
            f"{given!r} resolved to {folder}, outside {real_root}",
        )
        expect(folder.is_dir() and folder == folder.resolve(), f"{folder} is not a folder")

    return check


upload_names = st.lists(
    st.one_of(
        nasty_text,
        st.sampled_from(PATH_PARTS),
        st.text(min_size=100, max_size=300),
        st.tuples(st.text(max_size=300), st.sampled_from([".png", ".jpg", ".mp4", ".zip"])).map(
            "".join
        ),
    ),
    min_size=1,
    max_size=4,
)


def check_upload_name(case: tuple[str, int]) -> None:
    filename, number = case
    name = guarded((), lambda: _safe_name(filename, number))
    expect(isinstance(name, str) and name not in ("", ".", ".."), f"name {name!r}")
    expect(not set(name) & {"/", "\\", "\x00"}, f"name {name!r}")
    expect(
        len(name.encode("utf-8", "surrogatepass")) <= 255,
        f"{filename[:40]!r}... became a name of {len(name.encode('utf-8', 'surrogatepass'))}"
        " bytes, longer than a file name may be (255)",
    )
    media = re.search(r"(?:^|[/\\])[A-Za-z0-9_-][^/\\]*(\.(?:png|jpg|mp4|zip))\Z", filename)
    expect(
        media is None or name.endswith(media.group(1)),
        f"{filename[:40]!r}... ({len(filename)} characters) lost its suffix "
        f"{media.group(1) if media else ''!r}: ingest would skip it as unsupported",
    )


def make_stage_uploads_check(workdir: Path) -> Callable[[list[str]], None]:
    folder = workdir / "uploads"

    def check(filenames: list[str]) -> None:
        form = FormData(
            [("files", UploadFile(io.BytesIO(b"data"), filename=name)) for name in filenames]
        )
        try:
            count = guarded(HTTP_ERRORS, lambda: stage_uploads(form, folder))
            if count is None:
                return
            written = [p for p in folder.rglob("*") if p.is_file()]
            expect(count == len(filenames) == len(written), f"{count} of {len(filenames)}")
            expect(all(p.parent == folder for p in written), f"written {written}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return check


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (9, 9, 9)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()
MEMBER_PARTS = [
    "..",
    ".",
    "",
    "a",
    "img.png",
    "C:",
    "/",
    "\\",
    "..\\x.png",
    "漢.png",
    "a" * 300,
    "x." + "p" * 300,
    "%2e%2e",
    "\x00.png",
    " ",
]
members = st.lists(
    st.tuples(
        st.lists(st.sampled_from(MEMBER_PARTS), min_size=1, max_size=4).map("/".join),
        st.sampled_from(["file", "dir", "symlink", "exec"]),
        st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
        st.one_of(st.just(PNG), st.binary(max_size=64)),
    ),
    max_size=5,
)
zip_cases = st.tuples(
    members,
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
    st.booleans(),
)


def _zip_bytes(case: tuple[list[Any], list[tuple[int, int]], bool]) -> bytes:
    entries, flips, garbage = case
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate member names are part of the fun
        for given, kind, method, data in entries:
            name = given.encode("utf-8", "replace").decode()  # a zip holds no lone surrogate
            info = zipfile.ZipInfo(name + ("/" if kind == "dir" else ""))
            info.compress_type = method
            info.external_attr = {
                "file": 0o100644,
                "dir": 0o40755,
                "symlink": 0o120777,
                "exec": 0o100755,
            }[kind] << 16
            archive.writestr(info, b"" if kind == "dir" else data)
    raw = bytearray(buffer.getvalue())
    for offset, byte in flips:  # damage: bit rot, lying headers, unknown methods
        if raw:
            raw[offset % len(raw)] = byte
    return bytes(raw) + (b"trailing garbage" if garbage else b"")


def make_zip_check(workdir: Path) -> Callable[[Any], None]:
    blobs = BlobFolder(workdir / "blobs")
    ingest = Ingest(blobs, PillowProbe(), StagingFolder(workdir / "staging"), None, threads=1)
    path = workdir / "upload.zip"

    def check(case: Any) -> None:
        path.write_bytes(_zip_bytes(case))
        report = _Report()
        context = SimpleNamespace(task_id=str(uuid4()))
        with SortedSpill() as spill, blobs.batch(context.task_id) as batch:
            guarded(
                (), lambda: ingest._ingest_zip(context, batch, path, "upload.zip", spill, report)
            )
            records = [json.loads(value) for _, value in spill]
        for record in records:
            name = str(record["file_name"])
            expect(name.startswith("upload.zip/"), f"file name {name!r}")
            member = PurePosixPath(name.removeprefix("upload.zip/").replace("\\", "/"))
            expect(
                not member.is_absolute() and ".." not in member.parts,
                f"member {name!r} escapes the archive",
            )
            expect(record["kind"] in ("image", "video"), f"kind {record['kind']!r}")

    return check


# JWTs and the Authorization header / session cookie.

API_KEY = "k" * 32
API_SECRET = "s" * 48
MAX_TTL = 3600
USER = Credentials("user-1", "fuzz@example.com", API_SECRET, False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claim() -> st.SearchStrategy[Any]:
    now = int(time.time())
    return st.one_of(
        st.integers(now - 100, now + 100),
        st.integers(now - 10**6, now + 10**6),
        json_scalars,
        st.sampled_from([now + 0.5, float("inf"), float("nan"), str(now), 10**30, True]),
    )


jwt_parts = st.tuples(
    st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["HS256", "none", "HS512", "RS256", "hs256", ""]) | json_scalars,
            "kid": st.sampled_from([API_KEY, API_KEY.upper(), "", "x" * 201]) | json_values,
            "typ": st.sampled_from(["JWT", "jwt"]) | json_scalars,
            "crit": json_values,
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "sub": st.sampled_from([API_KEY, "other"]) | json_values,
            "iss": st.sampled_from(["sdk", "SDK"]) | json_values,
            "iat": _claim(),
            "exp": _claim(),
            "nbf": _claim(),
            "extra": json_values,
        },
    ),
    st.sampled_from(["right", "wrong", "empty", "garbage", "other-secret"]),
    st.sampled_from(["", "=", "==", ".", " ", "\n", ".x"]),
)


def _token(parts: tuple[dict[str, Any], dict[str, Any], str, str]) -> str:
    header, claims, signature, tail = parts
    signing_input = (
        f"{_b64(json.dumps(header, allow_nan=True).encode())}."
        f"{_b64(json.dumps(claims, allow_nan=True).encode())}"
    )
    key = {"right": API_SECRET, "wrong": API_SECRET[:-1] + "t", "other-secret": "o" * 48}.get(
        signature
    )
    if key is not None:
        mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}{tail}"
    return f"{signing_input}.{'' if signature == 'empty' else '!!not-base64'}{tail}"


authorizations = st.one_of(
    st.tuples(
        st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "Basic ", "Bearer", ""]),
        st.one_of(jwt_parts.map(_token), nasty_text, st.text(max_size=5000)),
    ).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
auth_cases = st.tuples(
    st.one_of(st.none(), authorizations),
    st.one_of(
        st.none(),
        st.binary(max_size=200),
        jwt_parts.map(lambda p: f"snapset_session={_token(p)}; snapset_csrf=x".encode()),
    ),
    st.sampled_from(["GET", "POST", "DELETE"]),
    st.one_of(st.none(), st.binary(max_size=50)),
)


def _unb64(text: str) -> bytes:
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _correctly_signed(token: str) -> bool:
    """An independent check: three parts, the third an HS256 MAC of the first two with the
    user's secret (its base64 may be spelled loosely; the MAC bytes must match)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    mac = hmac.new(API_SECRET.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
    try:
        return hmac.compare_digest(mac.digest(), _unb64(parts[2]))
    except ValueError:
        return False


def _claims_fit(token: str) -> bool:
    header_text, claims_text, _ = token.split(".")
    header, claims = json.loads(_unb64(header_text)), json.loads(_unb64(claims_text))
    exp, iat = claims.get("exp"), claims.get("iat")
    return (
        header.get("alg") == "HS256"
        and header.get("kid") == API_KEY
        and claims.get("sub") == API_KEY
        and claims.get("iss") == "sdk"
        and type(exp) is int
        and type(iat) is int
        and exp - iat <= MAX_TTL
        and exp > time.time() - 60
    )


def make_auth_check() -> Callable[[Any], None]:
    verifier = TokenVerifier(lambda key: USER if key == API_KEY else None, MAX_TTL)

    def check(case: tuple[str | None, bytes | None, str, bytes | None]) -> None:
        authorization, cookie, method, csrf = case
        headers: list[tuple[bytes, bytes]] = []
        if authorization is not None:
            headers.append((b"authorization", authorization.encode("utf-8", "surrogatepass")))
        if cookie is not None:
            headers.append((b"cookie", cookie))
        if csrf is not None:
            headers.append((b"x-csrf-token", csrf))
        request = Request(
            {"type": "http", "method": method, "path": "/", "headers": headers, "query_string": b""}
        )
        actor = guarded(HTTP_ERRORS, lambda: authenticate(verifier, request))
        if actor is None:
            return
        expect(actor.user_id == USER.user_id and actor.email == USER.email, f"actor {actor}")
        sent = request.headers.get("authorization")
        token = (
            sent.partition(" ")[2].strip() if sent else request.cookies.get("snapset_session", "")
        )
        expect(
            len(token) <= MAX_TOKEN_BYTES and _correctly_signed(token),
            f"accepted a token not signed with the user's secret: {token[:80]!r}",
        )
        expect(_claims_fit(token), f"accepted a token whose claims do not fit: {token[:80]!r}")

    return check


# Mutations: bench/fuzz.py checks a few cheap variants of each input Hypothesis draws
# (drawing costs far more than checking). They keep the harness's own choices (a zip
# member's kind, a value's spec) and change only what the parser reads.


def mutate_text(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(text))
        op = rng.randrange(5)
        if op == 0:
            text = text[:at] + rng.choice(NASTY) + text[at:]
        elif op == 1:
            text = text[:at] + text[at + rng.randint(1, 8) :]
        elif op == 2:
            text = (
                text[:at]
                + chr(
                    rng.choice(
                        (
                            rng.randint(0, 0x7F),
                            rng.randint(0x80, 0x7FF),
                            rng.randint(0x800, 0xFFFF),
                            rng.randint(0x10000, 0x10FFFF),
                        )
                    )
                )
                + text[at:]
            )
        elif op == 3:
            end = rng.randint(at, min(len(text), at + 8))
            text = text[:at] + text[at:end] * rng.randint(2, 60) + text[end:]
        elif text:
            at = min(at, len(text) - 1)
            text = text[:at] + chr(rng.randint(0, 0x2FF)) + text[at + 1 :]
    return text


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.3:
        return mutate_text(data.decode("latin-1"), rng).encode("utf-8", "surrogatepass")
    raw = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(raw))
        op = rng.randrange(4)
        if op == 0:
            raw[at:at] = rng.choice(NASTY).encode("utf-8", "surrogatepass")
        elif op == 1:
            del raw[at : at + rng.randint(1, 8)]
        elif op == 2:
            raw[at:at] = rng.randbytes(rng.randint(1, 4))
        elif raw:
            raw[min(at, len(raw) - 1)] = rng.randrange(256)
    return bytes(raw)


def mutate_json(value: Any, rng: random.Random) -> Any:
    """A variant of a JSON-like value: one leaf changed, or one item added or dropped."""
    if isinstance(value, str):
        return mutate_text(value, rng)
    if isinstance(value, list) and value and rng.random() < 0.7:
        at = rng.randrange(len(value))
        return [*value[:at], mutate_json(value[at], rng), *value[at + 1 :]]
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        return {**value, key: mutate_json(value[key], rng)}
    if isinstance(value, list):
        return [*value, rng.choice(NASTY)] if rng.random() < 0.5 else value[1:]
    if isinstance(value, dict):
        return {**value, mutate_text("", rng): rng.choice([None, 0, "", [], {}])}
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**63,
            10**400,
            0.5,
            -0.0,
            float("inf"),
            float("nan"),
            "",
            rng.choice(NASTY),
            [],
            {},
        ]
    )


def _pair(
    first: Callable[[Any, random.Random], Any], second: Callable[[Any, random.Random], Any]
) -> Callable[[Any, random.Random], Any]:
    return lambda v, rng: (
        (first(v[0], rng), v[1]) if rng.random() < 0.5 else (v[0], second(v[1], rng))
    )


def _keep(value: Any, rng: random.Random) -> Any:
    return value


def _mutate_form(case: Any, rng: random.Random) -> Any:
    fields, upload = case
    if upload is not None and rng.random() < 0.5:
        name, content_type, data = upload
        return fields, (name, content_type, mutate_bytes(data, rng))
    if not fields:
        return fields, upload
    key = rng.choice(list(fields))
    return {**fields, key: mutate_text(fields[key], rng)}, upload


def _mutate_zip(case: Any, rng: random.Random) -> Any:
    entries, flips, garbage = case
    if entries and rng.random() < 0.5:
        at = rng.randrange(len(entries))
        name, kind, method, data = entries[at]
        changed = (
            (mutate_text(name, rng), kind, method, data)
            if rng.random() < 0.5
            else (name, kind, method, mutate_bytes(data, rng))
        )
        return [*entries[:at], changed, *entries[at + 1 :]], flips, garbage
    return entries, [*flips, (rng.randrange(10**6), rng.randrange(256))], garbage


def _mutate_auth(case: Any, rng: random.Random) -> Any:
    authorization, cookie, method, csrf = case
    if cookie is not None and (authorization is None or rng.random() < 0.3):
        return authorization, mutate_bytes(cookie, rng), method, csrf
    return mutate_text(authorization or "Bearer ", rng), cookie, method, csrf


def _mutate_names(names: list[str], rng: random.Random) -> list[str]:
    at = rng.randrange(len(names))
    return [*names[:at], mutate_text(names[at], rng), *names[at + 1 :]]


# Inputs that once broke a parser (shrunk by Hypothesis or found by bench/fuzz.py), replayed
# by test_parser_fuzz.py on every run before the random ones.
FOUND: dict[str, list[Any]] = {
    "iso_time": ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],
    "metadata_value": [({"type": "datetime"}, "0999-01-01T00:00:00Z", True)],
    "import_folder": ["a" * 300, "\ud800", "loop", "a/" * 2100],
    "upload_name": [("\u6f22" * 100, 0), ("a" * 200 + ".png", 1)],
    "stage_uploads": [["\u6f22" * 100]],
    "zip_members": [
        ([("", "file", 0, PNG)], [], False),  # a member without a name
        ([("..", "file", 0, PNG)], [(660, 64)], False),  # "zip file version 6.4"
        ([("C\u0141", "exec", 0, b"="), ("C:", "exec", 0, b"=")], [(1377, 137)], False),
        ([("a", "exec", 8, b"a" * 40)], [(39, 184)], False),  # damaged deflate data
    ],
}


def parsers(workdir: Path) -> list[Parser]:
    """Every parser, its checks bound to files under ``workdir`` (made empty first)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return [
        Parser(
            "explore_query",
            st.tuples(query_strings, st.integers(0, 2**60)),
            check_explore_query,
            0.16,
            _pair(mutate_bytes, _keep),
        ),
        Parser("iso_time", iso_texts, check_iso_time, 0.08, mutate_text),
        Parser(
            "metadata_schema",
            st.tuples(raw_schemas, raw_schemas),
            check_schema,
            0.10,
            _pair(mutate_json, mutate_json),
        ),
        Parser(
            "metadata_value",
            value_cases,
            check_metadata_value,
            0.16,
            lambda v, rng: (v[0], mutate_json(v[1], rng), v[2]),
        ),
        Parser("metadata_csv", csv_files, make_csv_check(workdir), 0.08, mutate_bytes),
        Parser("metadata_json", json_files, make_json_check(workdir), 0.06, mutate_bytes),
        Parser("metadata_form", form_cases, make_form_check(workdir), 0.04, _mutate_form),
        Parser("import_folder", import_paths, make_import_folder_check(workdir), 0.08, mutate_text),
        Parser(
            "upload_name",
            st.tuples(upload_names.map(lambda n: n[0]), st.integers(0, 10**4)),
            check_upload_name,
            0.06,
            _pair(mutate_text, _keep),
        ),
        Parser(
            "stage_uploads", upload_names, make_stage_uploads_check(workdir), 0.02, _mutate_names
        ),
        Parser("zip_members", zip_cases, make_zip_check(workdir), 0.04, _mutate_zip),
        Parser("jwt", auth_cases, make_auth_check(), 0.12, _mutate_auth),
    ]
