"""Explore over HTTP: filters, sorting and pages at any version; items, files, thumbnails and
clusters. Expectations come from the uploaded files (sizes, bytes, Pillow) and from the edits
the test itself made, never from the server's own answers."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

from adapters.runtime import Runtime, build_runtime
from adapters.settings import Settings
from application.actor import Actor
from tests.e2e import helpers
from tests.e2e.helpers import problem
from tests.support.client import SnapsetClient
from tests.support.media import image
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (40, 60, 210)
FIRST_FRAME, LATER_FRAMES = (240, 240, 20), (20, 20, 240)


def real_video(path: Path, width: int, height: int) -> Path:
    """An MPEG-4 video whose first frame is yellow and the rest blue (PyAV)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for color in (FIRST_FRAME, LATER_FRAMES, LATER_FRAMES):
            pixels = np.full((height, width, 3), color, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@dataclass
class Explored:
    dataset_id: str
    files: dict[str, Path]  # file name -> the uploaded file
    ids: dict[str, str]  # file name -> media id

    @property
    def base(self) -> str:
        return f"/dataset/{self.dataset_id}"


@pytest.fixture
def explored(client: SnapsetClient, tmp_path: Path) -> Explored:
    folder = tmp_path / "upload"
    files = [
        image(folder / "Red_Car.png", 300, 200, RED),
        image(folder / "green-tree.jpg", 40, 90, GREEN, fmt="JPEG"),
        image(folder / "blue_sky.png", 20, 10, BLUE),
        image(folder / "night_cat.png", 64, 64, (10, 10, 10)),
        real_video(folder / "drive.mp4", 320, 240),
        real_video(folder / "broken.mp4", 48, 64),
    ]
    dataset_id = client.create_dataset("explore", files=files)
    client.wait_status(dataset_id, "READY")
    ids = {m["file_name"]: m["media_id"] for m in client.media(dataset_id)}
    assert set(ids) == {f.name for f in files}
    return Explored(dataset_id, {f.name: f for f in files}, ids)


def names(client: SnapsetClient, explored: Explored, **query: Any) -> list[str]:
    body = client.ok("GET", f"{explored.base}/media", params=query)
    assert body["total"] == len(body["media"])
    return [m["file_name"] for m in body["media"]]


def test_filters_select_by_kind_name_tags_labels_and_metadata_set_over_http(
    client: SnapsetClient, explored: Explored
) -> None:
    ids = explored.ids
    client.edit_media(
        explored.dataset_id,
        ids["Red_Car.png"],
        tags=["car", "red"],
        labels=[{"class_name": "vehicle"}],
        metadata={"score": 0.9, "camera": "alpha", "taken": "2024-05-01T10:00:00"},
    )
    client.edit_media(
        explored.dataset_id,
        ids["green-tree.jpg"],
        tags=["red", "tree"],
        metadata={"score": 3, "camera": "beta", "taken": "2023-12-31T23:59:59"},
    )
    client.edit_media(
        explored.dataset_id,
        ids["night_cat.png"],
        tags=["cat"],
        labels=[{"class_name": "animal"}, {"class_name": "vehicle"}],
        metadata={"score": 12, "camera": "alpha", "taken": "2024-07-04T00:00:00"},
    )
    everything = sorted(explored.files)

    assert names(client, explored) == everything
    assert names(client, explored, kind="video") == ["broken.mp4", "drive.mp4"]
    assert names(client, explored, q="CAR") == ["Red_Car.png"]
    assert names(client, explored, q="_") == ["Red_Car.png", "blue_sky.png", "night_cat.png"]
    assert names(client, explored, q="") == everything
    assert names(client, explored, tag="red") == ["Red_Car.png", "green-tree.jpg"]
    assert names(client, explored, tag="red,car") == ["Red_Car.png"]
    assert names(client, explored, tag="red, tree") == ["green-tree.jpg"]
    assert names(client, explored, tag="red,cat") == []
    assert names(client, explored, label="vehicle") == ["Red_Car.png", "night_cat.png"]
    assert names(client, explored, **{"meta.camera": "alpha"}) == ["Red_Car.png", "night_cat.png"]
    assert names(client, explored, **{"meta.score": "3"}) == ["green-tree.jpg"]
    assert names(client, explored, **{"meta.score.gte": "1", "meta.score.lte": "12"}) == [
        "green-tree.jpg",
        "night_cat.png",
    ]
    assert names(client, explored, **{"meta.score.gte": "1.5e1"}) == []
    assert names(client, explored, **{"meta.taken.gte": "2024"}) == ["Red_Car.png", "night_cat.png"]
    assert names(client, explored, **{"meta.taken.lte": "2024-05-01T10:00:00"}) == [
        "Red_Car.png",
        "green-tree.jpg",
    ]
    assert names(
        client,
        explored,
        **{"meta.camera": "alpha", "meta.score.lte": "1"},
        kind="image",
        label="vehicle",
        tag="car",
    ) == ["Red_Car.png"]


def test_sorting_and_paging_follow_the_uploaded_files(
    client: SnapsetClient, explored: Explored
) -> None:
    sizes = {name: path.stat().st_size for name, path in explored.files.items()}
    by_size = sorted(sizes, key=lambda name: (-sizes[name], name))

    assert names(client, explored, sort_by="size", sort_order="desc") == by_size
    assert names(client, explored, sort_by="file_name", sort_order="desc") == sorted(
        explored.files, reverse=True
    )
    heights = {}
    for name, path in explored.files.items():
        if path.suffix != ".mp4":
            with Image.open(path) as picture:
                heights[name] = picture.height
    assert names(client, explored, sort_by="height", kind="image") == sorted(
        heights, key=lambda name: (heights[name], name)
    )
    assert names(client, explored, sort_by="kind", kind="video") == ["broken.mp4", "drive.mp4"]
    assert names(client, explored, sort_by="media_id") == sorted(
        explored.ids, key=lambda name: explored.ids[name]
    )

    pages = [
        client.ok(
            "GET",
            f"{explored.base}/media",
            params={"sort_by": "size", "sort_order": "desc", "page": page, "page_size": 4},
        )
        for page in (1, 2)
    ]

    assert [p["total"] for p in pages] == [6, 6]
    assert [(p["page"], p["page_size"]) for p in pages] == [(1, 4), (2, 4)]
    assert [m["file_name"] for p in pages for m in p["media"]] == by_size


def test_a_page_past_the_last_is_422_naming_the_last_page(
    client: SnapsetClient, explored: Explored
) -> None:
    last = client.ok("GET", f"{explored.base}/media", params={"page": 3, "page_size": 2})
    assert [len(last["media"]), last["total"]] == [2, 6]

    detail = problem(
        client.request("GET", f"{explored.base}/media", params={"page": 4, "page_size": 2}), 422
    )
    filtered = problem(
        client.request("GET", f"{explored.base}/media", params={"page": 2, "kind": "video"}), 422
    )
    empty = client.ok("GET", f"{explored.base}/media", params={"tag": "nothing-has-this"})

    assert "last page, 3" in detail
    assert "last page, 1" in filtered
    assert (empty["media"], empty["total"], empty["page"]) == ([], 0, 1)


def test_next_cursor_pages_through_the_same_items_as_page_numbers(
    client: SnapsetClient, explored: Explored
) -> None:
    sizes = {name: path.stat().st_size for name, path in explored.files.items()}
    by_size = sorted(sizes, key=lambda name: (-sizes[name], name))
    query = {"sort_by": "size", "sort_order": "desc", "page_size": 2}

    listed, pages = [], []
    body = client.ok("GET", f"{explored.base}/media", params=query)
    while True:
        pages.append(body)
        listed += [m["file_name"] for m in body["media"]]
        if body["next_cursor"] is None:
            break
        body = client.ok(
            "GET", f"{explored.base}/media", params={**query, "cursor": body["next_cursor"]}
        )
    skipped = client.ok(
        "GET",
        f"{explored.base}/media",
        params={**query, "cursor": pages[0]["next_cursor"], "page": 2},
    )

    assert listed == by_size
    assert [len(p["media"]) for p in pages] == [2, 2, 2]
    assert {(p["total"], p["total_is_lower_bound"]) for p in pages} == {(6, False)}
    assert [m["file_name"] for m in skipped["media"]] == by_size[4:]


@pytest.mark.parametrize(
    ("cursor", "sort", "wanted"),
    [
        ("garbage!", {}, "not one this service gave out"),
        ("e30", {}, "not one this service gave out"),  # "{}"
        ("x" * 2001, {}, "at most 2000"),
        (None, {"sort_by": "size"}, "sorted by file_name asc"),
    ],
)
def test_a_cursor_not_given_out_or_from_another_sort_is_422(
    client: SnapsetClient, explored: Explored, cursor: str | None, sort: dict[str, str], wanted: str
) -> None:
    if cursor is None:  # a real cursor of the default sort, sent with another sort
        first = client.ok("GET", f"{explored.base}/media", params={"page_size": 2})
        cursor = first["next_cursor"]

    detail = problem(
        client.request("GET", f"{explored.base}/media", params={**sort, "cursor": cursor}), 422
    )

    assert wanted in detail


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"page_size": "1000"},
        {"page_size": "0"},
        {"page": "two"},
        {"sort_by": "foo"},
        {"sort_order": "up"},
        {"kind": "audio"},
        {"snapshot_id": "nope"},
        {"meta.": "x"},
        {"meta..gte": "1"},
        {"meta.camera": "x" * 1001},
        {"tag": ",".join(f"t{i}" for i in range(21))},
        {f"meta.f{i}": "x" for i in range(21)},
    ],
)
def test_bad_query_values_are_422(
    client: SnapsetClient, explored: Explored, query: dict[str, str]
) -> None:
    problem(client.request("GET", f"{explored.base}/media", params=query), 422)


def test_unknown_query_parameters_are_422_naming_them(
    client: SnapsetClient, explored: Explored
) -> None:
    client.edit_media(explored.dataset_id, explored.ids["night_cat.png"], metadata={"score": 2})

    unknown = problem(
        client.request(
            "GET", f"{explored.base}/media", params={"colour": "red", "sort": "x", "tag": "a"}
        ),
        422,
    )
    ranged = problem(
        client.request("GET", f"{explored.base}/media", params={"meta.score.gte": "high"}), 422
    )
    strict = [
        problem(client.request("GET", f"{explored.base}/{path}", params={"x": "1"}), 422)
        for path in (f"media/{explored.ids['night_cat.png']}", "clusters")
    ]

    assert "'colour'" in unknown
    assert "'sort'" in unknown
    assert "meta.score.gte" in ranged
    assert "number" in ranged
    assert all(detail.startswith("Invalid value for x:") for detail in strict)


def test_a_snapshot_is_read_as_it_was_after_an_edit(
    client: SnapsetClient, explored: Explored
) -> None:
    cat = explored.ids["night_cat.png"]
    client.edit_media(explored.dataset_id, cat, tags=["cat"], metadata={"mood": "calm"})
    snapshot = client.create_snapshot(explored.dataset_id, name="calm cat")
    client.edit_media(explored.dataset_id, cat, tags=["dog"], metadata={"mood": "grumpy"})
    client.create_snapshot(explored.dataset_id, name="grumpy cat")
    old = {"snapshot_id": snapshot["snapshot_id"]}

    assert names(client, explored, tag="cat", **old) == ["night_cat.png"]
    assert names(client, explored, tag="cat") == []
    assert names(client, explored, tag="dog") == ["night_cat.png"]
    assert names(client, explored, **{"meta.mood": "calm"}, **old) == ["night_cat.png"]
    item = client.ok("GET", f"{explored.base}/media/{cat}", params=old)
    assert (item["tags"], item["metadata"]["mood"]) == (["cat"], "calm")
    now = client.ok("GET", f"{explored.base}/media/{cat}")
    assert (now["tags"], now["metadata"]["mood"]) == (["dog"], "grumpy")
    assert now["file_name"] == "night_cat.png"
    assert now["media_id"] == cat

    client.delete_snapshot(explored.dataset_id, snapshot["snapshot_id"])
    for path in ("media", f"media/{cat}", f"media/{cat}/file", "clusters"):
        problem(client.request("GET", f"{explored.base}/{path}", params=old), 404)
        problem(
            client.request(
                "GET", f"{explored.base}/{path}", params={"snapshot_id": str(uuid.uuid4())}
            ),
            404,
        )


def test_the_file_is_the_uploaded_bytes_with_its_type_etag_and_304(
    client: SnapsetClient, explored: Explored
) -> None:
    for name, content_type in (
        ("Red_Car.png", "image/png"),
        ("green-tree.jpg", "image/jpeg"),
        ("drive.mp4", "video/mp4"),
    ):
        data = explored.files[name].read_bytes()
        path = f"{explored.base}/media/{explored.ids[name]}/file"
        response = client.request("GET", path)
        etag = f'"{hashlib.sha256(data).hexdigest()}"'

        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"] == content_type
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"].startswith("private, max-age=")
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.request("GET", path, headers={"If-None-Match": header})
            assert (again.status_code, again.content) == (304, b"")
            assert again.headers["etag"] == etag
        assert client.request("GET", path, headers={"If-None-Match": '"other"'}).content == data


def cached_thumbnail(server: ServerProcess, blob: str) -> Path:
    return Path(server.data_dir) / "thumbnails" / blob[:2] / f"{blob}-256.jpg"


def expected_size(size: tuple[int, int]) -> tuple[int, int]:
    fitted = Image.new("RGB", size)
    fitted.thumbnail((256, 256))
    return fitted.size


def mean_color(picture: Image.Image) -> tuple[float, ...]:
    pixels = np.asarray(picture.convert("RGB"), dtype=float)
    return tuple(pixels.reshape(-1, 3).mean(axis=0))


def test_a_thumbnail_is_a_small_jpeg_made_once_and_then_served_from_its_cache(
    server: ServerProcess, client: SnapsetClient, explored: Explored
) -> None:
    source = explored.files["Red_Car.png"]
    blob = hashlib.sha256(source.read_bytes()).hexdigest()
    path = f"{explored.base}/media/{explored.ids['Red_Car.png']}/thumbnail"
    cache = cached_thumbnail(server, blob)
    assert not cache.exists()

    first = client.request("GET", path)
    made = cache.stat()
    second = client.request("GET", path)

    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert "x-snapset-placeholder" not in first.headers
    with Image.open(io.BytesIO(first.content)) as thumbnail, Image.open(source) as original:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == expected_size(original.size)
        assert max(thumbnail.size) == 256
        assert np.allclose(mean_color(thumbnail), RED, atol=12)
    assert second.content == first.content == cache.read_bytes()
    assert (cache.stat().st_ino, cache.stat().st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]
    etag = first.headers["etag"]
    assert client.request("GET", path, headers={"If-None-Match": etag}).status_code == 304
    small = client.request("GET", f"{explored.base}/media/{explored.ids['blue_sky.png']}/thumbnail")
    with Image.open(io.BytesIO(small.content)) as thumbnail:
        assert thumbnail.size == (20, 10)


def test_a_video_thumbnail_is_its_first_frame(client: SnapsetClient, explored: Explored) -> None:
    drive = client.request("GET", f"{explored.base}/media/{explored.ids['drive.mp4']}/thumbnail")

    assert drive.status_code == 200
    assert "x-snapset-placeholder" not in drive.headers
    with Image.open(io.BytesIO(drive.content)) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == expected_size((320, 240))
        assert np.allclose(mean_color(thumbnail), FIRST_FRAME, atol=25)


def test_a_file_that_no_longer_decodes_gets_a_placeholder_thumbnail(
    server: ServerProcess, client: SnapsetClient, explored: Explored
) -> None:
    for name in ("broken.mp4", "night_cat.png"):
        blob = hashlib.sha256(explored.files[name].read_bytes()).hexdigest()
        stored = Path(server.data_dir) / "blobs" / blob[:2] / blob[2:]
        assert stored.read_bytes() == explored.files[name].read_bytes()
        stored.write_bytes(b"\x00 the disk ate this file")

    for name, shape in (("broken.mp4", (48, 64)), ("night_cat.png", (64, 64))):
        path = f"{explored.base}/media/{explored.ids[name]}/thumbnail"
        first, second = client.request("GET", path), client.request("GET", path)

        assert first.status_code == second.status_code == 200
        assert first.headers["x-snapset-placeholder"] == "true"
        assert second.headers["x-snapset-placeholder"] == "true"
        assert first.content == second.content
        with Image.open(io.BytesIO(first.content)) as placeholder:
            assert placeholder.format == "JPEG"
            assert placeholder.size == ImageOps.contain(Image.new("RGB", shape), (256, 256)).size
            assert np.allclose(mean_color(placeholder), (128, 128, 128), atol=3)


def test_a_stranger_gets_404_and_unknown_media_is_404(
    client: SnapsetClient, other_user: SnapsetClient, explored: Explored
) -> None:
    cat = explored.ids["night_cat.png"]
    paths = ["media", f"media/{cat}", f"media/{cat}/file", f"media/{cat}/thumbnail", "clusters"]

    for path in paths:
        problem(other_user.request("GET", f"{explored.base}/{path}"), 404)
        problem(other_user.request("GET", f"/dataset/{uuid.uuid4()}/{path}"), 404)
    for suffix in ("", "/file", "/thumbnail"):
        detail = problem(client.request("GET", f"{explored.base}/media/no-such-item{suffix}"), 404)
        assert "no-such-item" in detail


def test_a_viewer_can_explore(
    client: SnapsetClient, other_user: SnapsetClient, explored: Explored
) -> None:
    client.ok(
        "POST",
        f"{explored.base}/share",
        json={"user_email": "stranger@example.com", "role": "viewer"},
    )
    cat = explored.ids["night_cat.png"]

    assert len(other_user.media(explored.dataset_id)) == 6
    assert other_user.ok("GET", f"{explored.base}/media/{cat}")["media_id"] == cat
    assert (
        other_user.request("GET", f"{explored.base}/media/{cat}/file").content
        == explored.files["night_cat.png"].read_bytes()
    )
    assert other_user.request("GET", f"{explored.base}/media/{cat}/thumbnail").status_code == 200
    assert other_user.ok("GET", f"{explored.base}/clusters")["total"] == 0


@pytest.fixture
def second_runtime(server: ServerProcess) -> Iterator[Runtime]:
    """The server's storage opened in this process, to write what HTTP cannot (cluster ids)."""
    runtime = build_runtime(
        Settings(data_dir=Path(server.data_dir), database_url=server.env["SNAPSET_DATABASE_URL"]),
        migrate=False,
    )
    yield runtime
    runtime.close()


def test_clusters_list_largest_first_with_samples_now_and_at_a_snapshot(
    client: SnapsetClient, explored: Explored, second_runtime: Runtime
) -> None:
    app = second_runtime.app
    user = app.get_user_by_api_key(client.api_key)
    actor = Actor(str(user.id), user.email, user.is_admin)
    clusters = {
        "Red_Car.png": "b",
        "green-tree.jpg": "b",
        "blue_sky.png": "a",
        "night_cat.png": "b",
        "drive.mp4": "a",
        "broken.mp4": "z",
    }
    snapshot = client.create_snapshot(explored.dataset_id)

    def assign(dataset: Any) -> dict[str, Any]:
        return {
            explored.ids[name]: {
                **app.tree.get(dataset.current["root"], explored.ids[name]),
                "cluster_id": cluster,
            }
            for name, cluster in clusters.items()
        }

    position = app.edit_items(actor, uuid.UUID(explored.dataset_id), assign, "clustered")
    seen = {"X-Snapset-Min-Position": str(position)}
    first = client.ok("GET", f"{explored.base}/clusters", params={"page_size": 2}, headers=seen)
    second = client.ok(
        "GET", f"{explored.base}/clusters", params={"page": 2, "page_size": 2}, headers=seen
    )
    before = client.ok(
        "GET",
        f"{explored.base}/clusters",
        params={"snapshot_id": snapshot["snapshot_id"]},
        headers=seen,
    )

    assert (first["total"], first["page"], first["page_size"]) == (3, 1, 2)
    found = [
        (c["cluster_id"], c["size"], [m["file_name"] for m in c["sample_media"]])
        for c in first["clusters"] + second["clusters"]
    ]
    assert found == [
        ("b", 3, ["Red_Car.png", "green-tree.jpg", "night_cat.png"]),
        ("a", 2, ["blue_sky.png", "drive.mp4"]),
        ("z", 1, ["broken.mp4"]),
    ]
    assert before == {"clusters": [], "total": 0, "page": 1, "page_size": 20}
    assert names(client, explored, cluster_id="b", sort_by="size") == sorted(
        ["Red_Car.png", "green-tree.jpg", "night_cat.png"],
        key=lambda name: explored.files[name].stat().st_size,
    )


def test_openapi_describes_the_explore_parameters(
    server: ServerProcess, client: SnapsetClient
) -> None:
    spec = client.http.get(f"{server.base_url}/openapi.json").json()
    listing = spec["paths"]["/api/v1/dataset/{dataset_id}/media"]["get"]
    parameters = {p["name"] for p in listing["parameters"]}

    assert {
        "snapshot_id",
        "kind",
        "tag",
        "label",
        "cluster_id",
        "q",
        "sort_by",
        "sort_order",
        "page",
        "page_size",
    } <= parameters
    assert "meta.<field>.gte" in listing["description"]
    for suffix in (
        "/media/{media_id}",
        "/media/{media_id}/file",
        "/media/{media_id}/thumbnail",
        "/clusters",
    ):
        assert "get" in spec["paths"][f"/api/v1/dataset/{{dataset_id}}{suffix}"]
