"""The audit history: one row per dataset event, saying who did what and when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.dataset_events import DatasetEvent
from projections.timestamps import iso

_HIDDEN = {"originator_id", "originator_version", "timestamp", "by", "created_by"}


class AuditWriter(Protocol):
    def append(self, row: dict[str, Any]) -> None: ...


class AuditHistoryProjection:
    name = "audit_history"

    def process(self, event: DatasetEvent, position: int, writer: AuditWriter) -> None:
        details = {k: v for k, v in vars(event).items() if k not in _HIDDEN}
        writer.append(
            {
                "position": position,
                "dataset_id": str(event.originator_id),
                "version": event.originator_version,
                "event_type": type(event).__name__,
                "actor": event.actor(),
                "at": iso(event.timestamp),
                "details": json.dumps(details, default=_plain, sort_keys=True),
            }
        )


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, UUID):
        return str(value)
    return repr(value)
