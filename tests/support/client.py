"""An API client for tests, so they read like `client.create_snapshot(ds, name="x")`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from adapters.http.auth import make_token


class ApiError(AssertionError):
    pass


class SnapsetClient:
    def __init__(self, base_url: str, api_key: str, api_secret: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.api_secret = api_secret
        self.http = httpx.Client(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {self.token()}"}
        )

    def token(self, ttl: int = 3600) -> str:
        return make_token(self.api_key, self.api_secret, ttl)

    def close(self) -> None:
        self.http.close()

    # Raw access, for tests of status codes.

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"/api/v1{path}", **kwargs)

    def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code != expect:
            raise ApiError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    # Datasets.

    def create_dataset(
        self,
        name: str,
        files: list[Path] | None = None,
        source_path: str | None = None,
        **fields: Any,
    ) -> str:
        if files:
            multipart = [("files", (f.name, f.read_bytes())) for f in files]
            data = {"dataset_name": name, **{k: str(v) for k, v in fields.items()}}
            body = self.ok("POST", "/dataset", files=multipart, data=data)
        else:
            payload = {"dataset_name": name, **fields}
            if source_path is not None:
                payload["source_path"] = source_path
            body = self.ok("POST", "/dataset", json=payload)
        return str(body["dataset_id"])

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("GET", f"/dataset/{dataset_id}")
        return result

    def wait_status(self, dataset_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            dataset = self.dataset(dataset_id)
            if dataset["status"] in statuses:
                return dataset
            if time.monotonic() > deadline:
                raise ApiError(f"dataset {dataset_id} stayed {dataset['status']}")
            time.sleep(0.02)

    def media(self, dataset_id: str, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.ok(
                "GET",
                f"/dataset/{dataset_id}/media",
                params={"page": page, "page_size": 100, **query},
            )
            items += body["media"]
            if len(items) >= body["total"] or not body["media"]:
                return items
            page += 1

    def edit_media(self, dataset_id: str, media_id: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            "PATCH", f"/dataset/{dataset_id}/media/{media_id}", json=fields
        )
        return result

    # Snapshots.

    def snapshots(self, dataset_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ok("GET", f"/dataset/{dataset_id}/snapshot")
        return result

    def create_snapshot(self, dataset_id: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("POST", f"/dataset/{dataset_id}/snapshot", json=fields)
        return result

    def edit_snapshot(self, dataset_id: str, snapshot_id: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            "PATCH", f"/dataset/{dataset_id}/snapshot/{snapshot_id}", json=fields
        )
        return result

    def restore(self, dataset_id: str, snapshot_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            "POST", f"/dataset/{dataset_id}/snapshot/{snapshot_id}/restore", expect=202
        )
        return result

    def clone(self, dataset_id: str, snapshot_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            "POST", f"/dataset/{dataset_id}/snapshot/{snapshot_id}/clone", expect=202
        )
        return result

    def delete_snapshot(self, dataset_id: str, snapshot_id: str) -> None:
        self.ok("DELETE", f"/dataset/{dataset_id}/snapshot/{snapshot_id}")

    # Tasks.

    def tasks(self, **query: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("GET", "/tasks", params=query)
        return result

    def wait_task(self, task_id: str, timeout: float = 30) -> dict[str, Any]:
        """Poll GET /tasks/{id} until the task is final, as a client would."""
        deadline = time.monotonic() + timeout
        while True:
            task: dict[str, Any] = self.ok("GET", f"/tasks/{task_id}")
            if task["status"] in ("COMPLETED", "FAILED", "ABORTED"):
                return task
            if time.monotonic() > deadline:
                raise ApiError(f"task {task_id} stayed {task['status']}")
            time.sleep(0.02)
