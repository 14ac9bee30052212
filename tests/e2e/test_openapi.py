"""The published OpenAPI document, the docs page and the health check."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e import helpers
from tests.e2e.helpers import SNAPSHOT_FIELDS, TASK_FIELDS
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
API = "/api/v1"
EXPECTED = {
    f"{API}/dataset/{{dataset_id}}/snapshot": {"get": "200", "post": "200"},
    f"{API}/dataset/{{dataset_id}}/snapshot/{{snapshot_id}}": {"patch": "200", "delete": "200"},
    f"{API}/dataset/{{dataset_id}}/snapshot/{{snapshot_id}}/restore": {"post": "202"},
    f"{API}/dataset/{{dataset_id}}/snapshot/{{snapshot_id}}/clone": {"post": "202"},
    f"{API}/tasks": {"get": "200"},
    f"{API}/tasks/filters": {"get": "200"},
    f"{API}/tasks/{{task_id}}": {"get": "200"},
    f"{API}/tasks/{{task_id}}/abort": {"post": "200"},
    f"{API}/tasks/{{task_id}}/retry": {"post": "200"},
    f"{API}/dataset": {"post": "200"},
    f"{API}/dataset/{{dataset_id}}": {"get": "200"},
    f"{API}/datasets": {"get": "200"},
    f"{API}/dataset/{{dataset_id}}/share": {"post": "200"},
    f"{API}/dataset/{{dataset_id}}/history": {"get": "200"},
    f"{API}/dataset/{{dataset_id}}/media": {"get": "200", "post": "202"},
    f"{API}/dataset/{{dataset_id}}/media/{{media_id}}": {"patch": "200"},
}
DATASET_FIELDS = helpers.DATASET_FIELDS


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        prefix = "#/components/schemas/"
        assert schema["$ref"].startswith(prefix), schema["$ref"]
        schema = spec["components"]["schemas"][schema["$ref"][len(prefix) :]]
    return schema


def success_schema(spec: dict[str, Any], path: str, method: str, code: str) -> dict[str, Any]:
    response = spec["paths"][path][method]["responses"][code]
    return resolve(spec, response["content"]["application/json"]["schema"])


def test_openapi_describes_every_contract_endpoint_with_the_contract_models(
    server: ServerProcess,
) -> None:
    response = httpx.get(f"{server.base_url}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"]
    assert spec["info"]["version"]
    for path, methods in EXPECTED.items():
        assert path in spec["paths"], path
        for method, code in methods.items():
            operation = spec["paths"][path][method]
            assert operation["summary"], (path, method)
            assert code in operation["responses"], (path, method, code)
            assert "401" in operation["responses"], (path, method)
            assert operation["security"], (path, method)
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == set(path.replace("}", "{").split("{")[1::2]), (path, method)
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    error = resolve(spec, answer["content"]["application/json"]["schema"])
                    assert "detail" in error["properties"]
                    assert "detail" in error["required"]
    operation_ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))

    schemas = spec["components"]["schemas"]
    assert set(schemas["Snapshot"]["properties"]) == SNAPSHOT_FIELDS
    assert set(schemas["Task"]["properties"]) == TASK_FIELDS
    assert set(schemas["Dataset"]["properties"]) == DATASET_FIELDS
    snapshot_path = f"{API}/dataset/{{dataset_id}}/snapshot"
    listed = spec["paths"][snapshot_path]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert listed["type"] == "array"
    assert set(resolve(spec, listed["items"])["properties"]) == SNAPSHOT_FIELDS
    assert set(success_schema(spec, snapshot_path, "post", "200")["properties"]) == SNAPSHOT_FIELDS
    assert (
        set(success_schema(spec, f"{snapshot_path}/{{snapshot_id}}", "patch", "200")["properties"])
        == SNAPSHOT_FIELDS
    )
    for action in ("restore", "clone"):
        started = success_schema(spec, f"{snapshot_path}/{{snapshot_id}}/{action}", "post", "202")
        assert set(started["properties"]) == {"task_id", "dataset_id"}
    page = success_schema(spec, f"{API}/tasks", "get", "200")
    assert set(page["properties"]) == {"tasks", "total", "page", "page_size"}
    assert set(resolve(spec, page["properties"]["tasks"]["items"])["properties"]) == TASK_FIELDS
    assert set(success_schema(spec, f"{API}/tasks/filters", "get", "200")["properties"]) == {
        "dataset_names",
        "dataset_ids",
        "task_types",
        "created_by",
    }
    query = {
        p["name"] for p in spec["paths"][f"{API}/tasks"]["get"]["parameters"] if p["in"] == "query"
    }
    assert query == {
        "dataset_id",
        "dataset_name",
        "task_type",
        "task_status",
        "created_by",
        "start_time_from",
        "start_time_to",
        "sort_by",
        "sort_order",
        "page",
        "page_size",
    }
    create = spec["paths"][f"{API}/dataset"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(create)
    edit = resolve(
        spec,
        spec["paths"][f"{snapshot_path}/{{snapshot_id}}"]["patch"]["requestBody"]["content"][
            "application/json"
        ]["schema"],
    )
    assert set(edit["properties"]) == {"name", "description"}
    share = resolve(
        spec,
        spec["paths"][f"{API}/dataset/{{dataset_id}}/share"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"],
    )
    assert set(share["properties"]) == {"user_email", "role"}

    docs = httpx.get(f"{server.base_url}/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "openapi.json" in docs.text
    health = httpx.get(f"{server.base_url}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
