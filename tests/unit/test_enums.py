"""The HTTP models spell task types and statuses as Literals; they must match the domain's."""

from __future__ import annotations

from typing import get_args

from adapters.http import models
from domain.tasks import TASK_STATUSES, TASK_TYPES


def _literal(model: type[models.BaseModel], field: str) -> set[str]:
    annotation = model.model_fields[field].annotation
    return {
        value
        for arg in get_args(annotation)
        for value in (get_args(arg) or (arg,))
        if isinstance(value, str)
    }


def test_task_types_in_the_api_are_exactly_the_domain_task_types() -> None:
    assert _literal(models.TaskQuery, "task_type") == set(TASK_TYPES)


def test_task_statuses_in_the_api_are_exactly_the_domain_task_statuses() -> None:
    assert _literal(models.TaskQuery, "task_status") == set(TASK_STATUSES)
    assert _literal(models.Task, "status") == set(TASK_STATUSES)
