"""The Task Manager endpoints."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from starlette.responses import JSONResponse, Response

from adapters.http import models
from adapters.http.call import Call
from adapters.http.inputs import iso_time
from adapters.http.presenters import task_from_row
from adapters.http.registry import Registry
from adapters.http.services import uuid_param
from adapters.views.task_log import TaskFilter
from domain.errors import TaskNotFound

registry = Registry()
TAGS = ("tasks",)


def _visible_to(call: Call[object, object]) -> str | None:
    return None if call.actor.is_admin else call.actor.user_id


@registry.add(
    "GET",
    "/api/v1/tasks",
    "Search tasks of the datasets you have a role on.",
    query=models.TaskQuery,
    response=models.TaskPage,
    tags=TAGS,
)
def list_tasks(call: Call[None, models.TaskQuery]) -> models.TaskPage:
    call.services.catch_up_for(call, "task_log")
    flt = TaskFilter(
        dataset_id=None if call.query.dataset_id is None else str(call.query.dataset_id),
        dataset_name=call.query.dataset_name,
        task_type=call.query.task_type,
        task_status=call.query.task_status,
        created_by=call.query.created_by,
        start_time_from=iso_time(call.query.start_time_from, "start_time_from"),
        start_time_to=iso_time(call.query.start_time_to, "start_time_to"),
    )
    rows, total = call.services.view("task_log").search(
        _visible_to(call),
        flt,
        call.query.sort_by,
        call.query.sort_order == "desc",
        call.query.page,
        call.query.page_size,
    )
    return models.TaskPage(
        tasks=[task_from_row(r) for r in rows],
        total=total,
        page=call.query.page,
        page_size=call.query.page_size,
    )


@registry.add(
    "GET",
    "/api/v1/tasks/filters",
    "The values the task filters can take for you.",
    response=models.TaskFilters,
    tags=TAGS,
)
def task_filters(call: Call[None, None]) -> models.TaskFilters:
    call.services.catch_up_for(call, "task_log")
    return models.TaskFilters(**call.services.view("task_log").filters(_visible_to(call)))


@registry.add(
    "GET",
    "/api/v1/tasks/{task_id}",
    "Read one task.",
    response=models.Task,
    errors=(404,),
    tags=TAGS,
)
def get_task(call: Call[None, None]) -> models.Task:
    call.services.catch_up_for(call, "task_log")
    return task_from_row(_task_row(call))


@registry.add(
    "GET",
    "/api/v1/tasks/{task_id}/report",
    "What a finished task did: counts and sample per-item errors (extension).",
    response=models.TaskReport,
    errors=(404,),
    tags=TAGS,
)
def task_report(call: Call[None, None]) -> models.TaskReport:
    call.services.catch_up_for(call, "task_log")
    row = _task_row(call)
    report = None if row.get("report") is None else json.loads(row["report"])
    return models.TaskReport(
        task_id=row["task_id"], task_type=row["task_type"], status=row["status"], report=report
    )


@registry.add(
    "POST",
    "/api/v1/tasks/{task_id}/abort",
    "Abort a task that has not finished.",
    response=models.Task,
    errors=(403, 404, 409),
    tags=TAGS,
)
def abort_task(call: Call[None, None]) -> Response:
    row = _task_row(call)
    position = call.services.app.abort_task(
        call.actor, UUID(row["dataset_id"]), UUID(row["task_id"])
    )
    return _task_now(call, position)


@registry.add(
    "POST",
    "/api/v1/tasks/{task_id}/retry",
    "Retry a failed or aborted dataset-creation task.",
    response=models.Task,
    errors=(400, 403, 404, 409, 429),
    tags=TAGS,
)
def retry_task(call: Call[None, None]) -> Response:
    row = _task_row(call)
    position = call.services.app.retry_task(
        call.actor, UUID(row["dataset_id"]), UUID(row["task_id"])
    )
    return _task_now(call, position)


def _task_row(call: Call[object, object]) -> dict[str, Any]:
    task_id = uuid_param(call, "task_id")
    row = call.services.view("task_log").get(_visible_to(call), str(task_id))
    if row is None:
        raise TaskNotFound(task_id)
    result: dict[str, Any] = row
    return result


def _task_now(call: Call[object, object], position: int) -> Response:
    headers = call.services.settle(position)
    row = call.services.view("task_log").get(_visible_to(call), call.path["task_id"])
    return JSONResponse(task_from_row(row).model_dump(mode="json"), headers=headers)
