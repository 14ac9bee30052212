"""What a view is: a read model's SQL around the store that keeps its rows."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from adapters.views.sql import Sql
from adapters.views.store import ViewStore


class View(Protocol):
    """A view has a store (``store``) and its own SQL: the DDL of its tables, a writer over
    a store transaction's ``Sql`` for its projection (``writer``), and queries for readers.
    """

    ddl: ClassVar[list[str]]
    store: ViewStore

    def __init__(self, store: ViewStore) -> None: ...

    def writer(self, sql: Sql) -> Any: ...


@runtime_checkable
class FinishingWriter(Protocol):
    """A writer with work left for the end of its transaction (``finish``), after every
    event of the batch and before the commit."""

    def finish(self) -> None: ...
