"""How read models write times: UTC, ISO 8601 with microseconds and no zone suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """UTC, ISO 8601 with microseconds and no zone suffix: sortable as text."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")
