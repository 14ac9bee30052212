"""The audit history: one row per dataset event, saying who did what and when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from projections.events import event_name, iso

_HIDDEN = {"originator_id", "originator_version", "timestamp", "by", "created_by"}


class AuditWriter(Protocol):
    def append(self, row: dict[str, Any]) -> None: ...


class AuditHistoryProjection:
    name = "audit_history"

    def process(self, event: Any, position: int, writer: AuditWriter) -> None:
        actor = (
            getattr(event, "by", None)
            or getattr(event, "created_by", None)
            or getattr(event, "owner_email", None)
            or "system"
        )
        details = {k: v for k, v in vars(event).items() if k not in _HIDDEN}
        writer.append(
            {
                "position": position,
                "dataset_id": str(event.originator_id),
                "version": event.originator_version,
                "event_type": event_name(event),
                "actor": actor,
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
