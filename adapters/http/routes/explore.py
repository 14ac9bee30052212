"""Explore: list and filter media (now or at any snapshot), one item, its file and thumbnail,
and the clusters.

Every read names a content root (the dataset's current root, or a snapshot's) taken from the
aggregate the caller's role was checked on, and asks the media index for that root: the
page, the total from the content tree's counts and the item from the tree all describe the
same immutable version, even while writes go on.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

from starlette.responses import FileResponse, Response

from adapters.http import models
from adapters.http.call import Call
from adapters.http.models_explore import ClusterPage, ClusterQuery, MediaQuery, VersionQuery
from adapters.http.problems import HttpProblem
from adapters.http.registry import Registry
from adapters.http.services import Services, uuid_param
from adapters.thumbnails import SIZE as THUMBNAIL_SIZE
from adapters.thumbnails import Thumbnails
from domain.content_tree import Record
from domain.dataset_state import CURRENT
from domain.errors import Invalid, NotFound
from projections.media_cursor import SearchCursor
from projections.media_index import FieldFilter, MediaFilter, MediaOrder, as_number

registry = Registry()
TAGS = ("explore",)
BASE = "/api/v1/dataset/{dataset_id}"
ITEM = BASE + "/media/{media_id}"
CACHE_CONTROL = "private, max-age=3600"
_META = "meta."
_BOUNDS = {".gte": "gte", ".lte": "lte"}
_MAX_VALUE = 1000
_MAX_CONDITIONS = 20
_CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}
LIST_DESCRIPTION = """\
Filters combine with AND. `tag` is comma-separated and every tag must match; `label` is a
label class name; `q` is a case-insensitive substring of the file name. Blank `tag`, `label`,
`cluster_id` and `q` filter nothing.

Metadata filters are extra query keys: `meta.<field>=<value>` matches a text value exactly,
or a number equal to it when the value spells a number (`meta.score=1` matches 1 and 1.0);
`meta.<field>.gte=` and `meta.<field>.lte=` bound a range. A range is numeric when the field
holds numbers in this version (then the bound must be a number, else 422), and text
otherwise (ISO 8601 datetimes order correctly as text). All conditions on one field must hold
for one of its values. Any other unknown key is a 422 naming it.

`total` counts every matching item when that costs no more than a page: always when only
`kind` filters, and when the smallest index a filter can use lists at most a few thousand
candidates. Otherwise `total` is the number found by a bounded count, a lower bound, and
`total_is_lower_bound` (an extension) is true. A `page` past the last page (page > 1 and no
item on it) is a 422 whose detail names the last page, from an exact count.

Deep pages: each response has `next_cursor` (an extension) while more items follow; pass it
back as `cursor` with the same sort to get the next page at the cost of a first one (`page`
then counts pages after the cursor). A cursor this service did not give out, or one from
another sort, is a 422.
"""


class IndexBehind(HttpProblem):
    """The media index has not caught up with the version asked for yet."""

    status = 503


@registry.add(
    "GET",
    BASE + "/media",
    "Page through the dataset's media, now or at a snapshot, filtered and sorted.",
    query=MediaQuery,
    response=models.MediaPage,
    errors=(404,),
    tags=TAGS,
    extra={"description": LIST_DESCRIPTION},
)
def list_media(call: Call[None, MediaQuery]) -> models.MediaPage:
    root = _root(call, call.query.snapshot_id)
    conditions = _metadata_conditions(call.query.model_extra or {})
    call.services.catch_up_for(call, "media_index")
    view = _indexed(call.services, root)
    where = MediaFilter(
        kind=call.query.kind,
        tags=_tags(call.query.tag),
        label=call.query.label or None,
        cluster_id=call.query.cluster_id or None,
        name_contains=call.query.q or None,
        fields=_typed(conditions, view.numeric_fields(root, _ranged(conditions))),
    )
    counts = call.services.app.tree.counts(root)
    known = (
        {None: counts.items, "image": counts.images, "video": counts.videos}[where.kind]
        if where.by_kind_only
        else None
    )
    order = MediaOrder(call.query.sort_by, call.query.sort_order == "desc")
    cursor = (
        None
        if call.query.cursor is None
        else SearchCursor.decode(call.query.cursor, order.key, order.descending)
    )
    found = view.search(
        root, where, order, call.query.page, call.query.page_size, total=known, cursor=cursor
    )
    if cursor is None and call.query.page > 1 and not found.rows:
        last = max(1, math.ceil(found.total / call.query.page_size))
        raise Invalid(
            f"Page {call.query.page} is past the last page, {last}: {found.total} items match "
            f"at page_size {call.query.page_size}."
        )
    return models.MediaPage(
        media=[models.Media.model_validate(r) for r in found.rows],
        total=found.total,
        page=call.query.page,
        page_size=call.query.page_size,
        total_is_lower_bound=found.total_is_lower_bound,
        next_cursor=found.next_cursor,
    )


@registry.add(
    "GET",
    ITEM,
    "Read one media item, now or at a snapshot.",
    query=VersionQuery,
    response=models.Media,
    errors=(404,),
    tags=TAGS,
)
def get_media(call: Call[None, VersionQuery]) -> models.Media:
    return models.Media.model_validate(_record(call))


@registry.add(
    "GET",
    ITEM + "/file",
    "Download the item's file, with its content type and its sha256 as ETag.",
    query=VersionQuery,
    errors=(404,),
    tags=TAGS,
    extra={"description": "Answers 304 to a matching If-None-Match. Byte ranges are supported."},
)
def media_file(call: Call[None, VersionQuery]) -> Response:
    record = _record(call)
    source = _blob_path(call, record)
    etag = f'"{record["blob"]}"'
    if _matches(call.header("if-none-match"), etag):
        return _not_modified(etag)
    name = PurePosixPath(str(record.get("file_name") or "")).name
    content_type = _CONTENT_TYPES.get(
        PurePosixPath(name).suffix.lower(), "application/octet-stream"
    )
    return FileResponse(
        source,
        media_type=content_type,
        headers=_cache_headers(etag),
        filename=name or None,
        content_disposition_type="inline",
        stat_result=source.stat(),
    )


@registry.add(
    "GET",
    ITEM + "/thumbnail",
    "A JPEG thumbnail of the item, at most 256 px on its long side.",
    query=VersionQuery,
    errors=(404,),
    tags=TAGS,
    extra={
        "description": "Made once per file and cached. A video shows its first "
        "frame. A file that cannot be decoded gets a neutral "
        "grey placeholder (header X-Snapset-Placeholder: true), "
        "so an image grid never breaks. Answers 304 to a "
        "matching If-None-Match."
    },
)
def media_thumbnail(call: Call[None, VersionQuery]) -> Response:
    record = _record(call)
    source = _blob_path(call, record)
    etag = f'"{record["blob"]}-thumbnail-{THUMBNAIL_SIZE}"'
    if _matches(call.header("if-none-match"), etag):
        return _not_modified(etag)
    thumbnail = Thumbnails(call.services.settings.data_dir / "thumbnails", THUMBNAIL_SIZE).get(
        str(record["blob"]),
        source,
        str(record.get("kind")),
        (record.get("width"), record.get("height")),
    )
    headers = _cache_headers(etag)
    if thumbnail.placeholder:
        headers["X-Snapset-Placeholder"] = "true"
    return FileResponse(thumbnail.path, media_type="image/jpeg", headers=headers)


@registry.add(
    "GET",
    BASE + "/clusters",
    "The clusters of the dataset's media, now or at a snapshot, largest first.",
    query=ClusterQuery,
    response=ClusterPage,
    errors=(404,),
    tags=TAGS,
)
def list_clusters(call: Call[None, ClusterQuery]) -> ClusterPage:
    root = _root(call, call.query.snapshot_id)
    call.services.catch_up_for(call, "media_index")
    clusters, total = _indexed(call.services, root).clusters(
        root, call.query.page, call.query.page_size
    )
    return ClusterPage.model_validate(
        {
            "clusters": [
                {"cluster_id": cluster, "size": size, "sample_media": samples}
                for cluster, size, samples in clusters
            ],
            "total": total,
            "page": call.query.page,
            "page_size": call.query.page_size,
        }
    )


def _root(call: Call[object, object], snapshot_id: UUID | None) -> str:
    """The content root the caller asked for; 404 unless they have a role on the dataset."""
    name = CURRENT if snapshot_id is None else str(snapshot_id)
    return call.services.app.get_version(call.actor, uuid_param(call, "dataset_id"), name)["root"]


def _indexed(services: Services, root: str) -> Any:
    view = services.view("media_index")
    if services.app.tree.counts(root).items and not view.has_root(root):
        raise IndexBehind(
            "The media index is still catching up with this version; try again shortly."
        )
    return view


def _record(call: Call[object, VersionQuery]) -> Record:
    media_id = call.path["media_id"]
    record = call.services.app.tree.get(_root(call, call.query.snapshot_id), media_id)
    if record is None:
        raise NotFound(
            f"Media {media_id} is not in dataset {call.path['dataset_id']}"
            f"{'' if call.query.snapshot_id is None else ' at that snapshot'}."
        )
    return {**record, "media_id": media_id}


def _blob_path(call: Call[object, object], record: Record) -> Path:
    blob = record.get("blob")
    path: Path | None = call.services.runtime.backend.blobs.path(blob) if blob else None
    if path is None or not path.is_file():
        raise NotFound(f"Media {record['media_id']} has no stored file.")
    return path


def _tags(text: str | None) -> tuple[str, ...]:
    tags = tuple(sorted({tag.strip() for tag in (text or "").split(",") if tag.strip()}))
    if len(tags) > _MAX_CONDITIONS:
        raise Invalid(f"Give at most {_MAX_CONDITIONS} tags in tag.")
    return tags


def _metadata_conditions(extra: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``meta.*`` query keys as {field: {"equals"|"gte"|"lte": text}}; 422 on any other key."""
    unknown = sorted(key for key in extra if not key.startswith(_META) or key == _META)
    if unknown:
        raise Invalid(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}; metadata filters are written "
            "meta.<field>=, meta.<field>.gte= or meta.<field>.lte=."
        )
    conditions: dict[str, dict[str, str]] = {}
    for key, value in sorted(extra.items()):
        field, operator = key[len(_META) :], "equals"
        for suffix, name in _BOUNDS.items():
            if field.endswith(suffix):
                field, operator = field[: -len(suffix)], name
        if not field:
            raise Invalid(f"The query parameter {key!r} names no metadata field.")
        if not isinstance(value, str) or len(value) > _MAX_VALUE:
            raise Invalid(f"The query parameter {key!r} must be at most {_MAX_VALUE} characters.")
        conditions.setdefault(field, {})[operator] = value
    if len(conditions) > _MAX_CONDITIONS:
        raise Invalid(f"Filter on at most {_MAX_CONDITIONS} metadata fields at once.")
    return conditions


def _ranged(conditions: dict[str, dict[str, str]]) -> set[str]:
    return {field for field, ops in conditions.items() if ops.keys() & {"gte", "lte"}}


def _typed(conditions: dict[str, dict[str, str]], numeric: set[str]) -> tuple[FieldFilter, ...]:
    """Field filters whose range bounds are numbers on numeric fields, else text."""
    filters = []
    for field, ops in conditions.items():
        bounds: dict[str, float | str | None] = {}
        for operator in ("gte", "lte"):
            text = ops.get(operator)
            if text is not None and field in numeric:
                number = as_number(text)
                if number is None:
                    raise Invalid(
                        f"meta.{field}.{operator} must be a number, since the field "
                        f"{field!r} holds numbers; got {text!r}."
                    )
                bounds[operator] = number
            else:
                bounds[operator] = text
        filters.append(FieldFilter(field, ops.get("equals"), bounds["gte"], bounds["lte"]))
    return tuple(filters)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak comparison, or ``*``)."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _cache_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}


def _not_modified(etag: str) -> Response:
    return Response(status_code=304, headers=_cache_headers(etag))
