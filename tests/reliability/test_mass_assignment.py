"""Mass assignment: fields a client may not set (`id`, `owned_by`, `status`, `is_current`,
`created_by`, `role`, `is_admin`...) added to any request body are refused with 422 and
change nothing, on both backends.

Every JSON body route (found in /openapi.json, so a new one is covered or the test fails)
is sent its valid body plus one extra field at a time, at the top level and inside nested
objects; the owner's view of the dataset is compared before and after, and the same body
without the extra then succeeds (so the 422 was about the extra). The published request
schemas must all forbid unknown fields. Multipart forms get the same extras as form fields:
refused, or ignored with the stored state showing none of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.e2e import helpers
from tests.e2e.helpers import problem
from tests.reliability import security_support
from tests.reliability.security_support import (
    BASE,
    ITEM,
    JSON_ROUTES,
    dataset_state,
    ensure_ready,
    json_bodies,
    path_of,
    routes_with,
    serving_site,
    task_of,
    wait_final,
)
from tests.support.media import image

pytestmark = pytest.mark.reliability
no_server_errors = helpers.no_server_errors
MALLORY = "mallory@example.com"

EXTRAS: dict[str, Any] = {
    "id": str(uuid.uuid4()),
    "dataset_id": str(uuid.uuid4()),
    "snapshot_id": str(uuid.uuid4()),
    "task_id": str(uuid.uuid4()),
    "media_id": str(uuid.uuid4()),
    "owned_by": MALLORY,
    "owner_id": str(uuid.uuid4()),
    "owner_email": MALLORY,
    "status": "READY",
    "status_new": "ERROR",
    "is_current": False,
    "is_restoring": True,
    "created_by": MALLORY,
    "created_at": "2000-01-01T00:00:00.000000",
    "role": "owner",
    "roles": {str(uuid.uuid4()): "owner"},
    "is_admin": True,
    "user_id": str(uuid.uuid4()),
    "reason": "creation",
    "source_dataset_id": str(uuid.uuid4()),
    "n_images": 999,
    "snapshot_support": False,
    "content_root": "0" * 64,
    "blob": "0" * 64,
    "fatal_error_msg": "owned",
    "field_schema": {"x": "text"},
}


class Site(security_support.Site):
    def state(self) -> dict[str, Any]:
        return {
            "dataset": dataset_state(self.owner, self.dataset_id, {"friend": self.friend}),
            "datasets": self.dataset_count(),
        }


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp(f"mass-{request.param}")
    with serving_site(Site, request.param, folder, "assigned", images=2) as built:
        yield built


# Where a body holds objects of its own, the extra goes in there too.
NESTED = {
    f"PATCH {ITEM}": lambda extra: {"labels": [{"class_name": "cat", **extra}]},
    f"POST {BASE}/media/labels": lambda extra: {"labels": [{"class_name": "cat", **extra}]},
}


def legit_fields(site: Site, key: str) -> set[str]:
    """The fields the route's published body schema names (they are not extras for it)."""
    method, path = key.split(" ", 1)
    schema = site.spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    resolved = site.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(resolved.get("properties", {}))


def send(site: Site, key: str, body: dict[str, Any]) -> Any:
    method, template = key.split(" ", 1)
    response = site.owner.http.request(method, path_of(template, site.ids()), json=body)
    site.owner.http.cookies.clear()
    return response


def refused_for(response: Any, name: str) -> None:
    """A 422 whose detail or field errors name the extra field."""
    detail = problem(response, 422)
    places = [
        ".".join(str(p) for p in e.get("loc", [])) for e in response.json().get("errors") or []
    ]
    assert name in detail or any(name in place for place in places), (
        f"the 422 does not name {name!r}: {response.text}"
    )


def finish(site: Site, response: Any) -> None:
    started = task_of(response)
    if started is not None:
        wait_final(site.owner, started)


def test_the_json_routes_are_the_ones_the_spec_publishes(site: Site) -> None:
    """A new JSON body route must be added to this module (and so get tested)."""
    assert sorted(routes_with(site.spec, "application/json")) == sorted(JSON_ROUTES)
    assert set(json_bodies(site.named)) == set(JSON_ROUTES)


def test_every_published_request_schema_forbids_unknown_fields(site: Site) -> None:
    schemas = site.spec["components"]["schemas"]
    seen: set[str] = set()

    def walk(schema: dict[str, Any], where: str) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
            return
        if "properties" in schema:
            assert schema.get("additionalProperties") is False, (
                f"{where} accepts fields it does not name"
            )
        for value in schema.values():
            for part in value if isinstance(value, list) else [value]:
                if isinstance(part, dict):
                    walk(part, where)

    for key in JSON_ROUTES:
        method, path = key.split(" ", 1)
        walk(
            site.spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"][
                "schema"
            ],
            key,
        )


@pytest.mark.parametrize("key", JSON_ROUTES, ids=JSON_ROUTES)
def test_extra_fields_in_a_json_body_are_refused_and_change_nothing(site: Site, key: str) -> None:
    ensure_ready(site.owner, site.dataset_id)
    valid = json_bodies(site.named, tag="plain")[key]
    before = site.state()
    tried = 0
    for name, value in EXTRAS.items():
        if name in legit_fields(site, key):
            continue
        tried += 1
        refused_for(send(site, key, {**valid, name: value}), name)
        if key in NESTED:
            refused_for(send(site, key, {**valid, **NESTED[key]({name: value})}), name)
    assert tried >= len(EXTRAS) - 3
    assert site.state() == before, "a refused body changed stored state"
    response = send(site, key, valid)
    assert response.status_code in (200, 202), f"the plain body fails: {response.text}"
    finish(site, response)


def test_extra_form_fields_when_creating_a_dataset_are_refused(site: Site) -> None:
    picture = image(site.folder / "form" / "a.png")
    before = site.state()
    for name, value in EXTRAS.items():
        if name == "snapshot_support":
            continue
        response = site.owner.request(
            "POST",
            "/dataset",
            data={"dataset_name": f"form {name}", name: json.dumps(value)},
            files=[("files", ("a.png", picture.read_bytes()))],
        )
        refused_for(response, name)
    assert site.state() == before
    made = site.owner.create_dataset("form plain", files=[picture])
    assert site.owner.dataset(made)["owned_by"] == "owner@example.com"


def test_extra_form_fields_on_a_metadata_file_import_are_refused(site: Site) -> None:
    ensure_ready(site.owner, site.dataset_id)
    rows = json.dumps([{"media_id": site.named.media_id, "score": 2.5}]).encode()
    form = {"schema": json.dumps({"score": "float"}), "key": "media_id"}
    path = f"/dataset/{site.dataset_id}/custom_metadata"
    before = site.state()
    for name, value in EXTRAS.items():
        response = site.owner.request(
            "POST",
            path,
            data={**form, name: json.dumps(value)},
            files=[("file", ("rows.json", rows))],
        )
        refused_for(response, name)
    assert site.state() == before
    response = site.owner.request("POST", path, data=form, files=[("file", ("rows.json", rows))])
    assert response.status_code == 202, response.text
    finish(site, response)


def test_extra_form_fields_on_a_media_upload_are_refused_or_ignored(site: Site) -> None:
    """Either is fine; what must not happen is any of them reaching stored state."""
    ensure_ready(site.owner, site.dataset_id)
    picture = image(site.folder / "upload" / "b.png", 18, 9, (1, 2, 3))
    before = site.state()["dataset"]
    form = {
        name: json.dumps(value) if not isinstance(value, str) else value
        for name, value in EXTRAS.items()
    }
    response = site.owner.request(
        "POST",
        f"/dataset/{site.dataset_id}/media",
        data=form,
        files=[("files", ("b.png", picture.read_bytes()))],
    )
    if response.status_code == 422:
        assert site.state()["dataset"] == before
        return
    assert response.status_code == 202, response.text
    task = wait_final(site.owner, response.json()["task_id"])
    assert task["status"] == "COMPLETED", task
    after = site.state()["dataset"]
    dataset = after["dataset"]
    # API.md: media added to a dataset with clusters leaves it in PARTIAL INDEX.
    assert (dataset["owned_by"], dataset["status"], dataset["snapshot_support"]) == (
        "owner@example.com",
        "PARTIAL INDEX",
        True,
    )
    assert dataset["id"] == site.dataset_id
    # Earlier snapshots are as they were (but for which is current); any new one is the
    # automatic checkpoint DESIGN.md describes, made by the owner.
    old = {s["snapshot_id"]: {**s, "is_current": None} for s in before["snapshots"]}
    new = {s["snapshot_id"]: {**s, "is_current": None} for s in after["snapshots"]}
    assert {k: new.get(k) for k in old} == old
    assert all(
        (s["reason"], s["created_by"]) == ("auto", "owner@example.com")
        for k, s in new.items()
        if k not in old
    )
    assert after["access"] == before["access"]
    assert task["created_by"] == "owner@example.com"
    assert MALLORY not in json.dumps(after)
    assert {m["media_id"] for m in after["media"]} >= {m["media_id"] for m in before["media"]}
    assert EXTRAS["media_id"] not in {m["media_id"] for m in after["media"]}
