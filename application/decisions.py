"""What a decision on a dataset reads and returns: the time it happens, and ``Also``, the
other aggregates to save in the same transaction as the dataset."""

from __future__ import annotations

from datetime import UTC, datetime

from eventsourcing.domain import Aggregate


def now() -> datetime:
    return datetime.now(UTC)


class Also(list[Aggregate]):
    """What a decision returns when other aggregates must be saved with the dataset."""
