"""Endpoint declarations: each handler with its method and path, the models it takes and
answers, and what the OpenAPI document says of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, TypeVar, Unpack, overload

from pydantic import BaseModel

from adapters.http.call import Call

# The endpoint table holds handlers of every Call type; Registry.add checked each one
# against its endpoint's models, and the dispatcher builds the Call those models make.
Handler = Callable[[Call[Any, Any]], object]
B = TypeVar("B", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)
BodyT = TypeVar("BodyT")
QueryT = TypeVar("QueryT")
R = TypeVar("R")


class Extra(TypedDict, total=False):
    """What only the OpenAPI document reads."""

    description: str
    form_fields: list[str]  # a multipart endpoint's text fields
    file_field: str  # a multipart endpoint's one file, when not many named `files`
    array: bool  # the response is a list of `response`
    responses: dict[int, tuple[str, type[BaseModel]]]  # other successes: (text, model)


class Options(TypedDict, total=False):
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    public: bool
    tags: tuple[str, ...]
    extra: Extra


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    multipart: bool = False
    public: bool = False
    tags: tuple[str, ...] = ()
    extra: Extra = field(default_factory=Extra)


class Register(Protocol[BodyT, QueryT]):
    """Registers a handler that takes ``Call[BodyT, QueryT]`` and gives it back unchanged."""

    def __call__(
        self, handler: Callable[[Call[BodyT, QueryT]], R], /
    ) -> Callable[[Call[BodyT, QueryT]], R]: ...


class Registry:
    """Endpoint declarations. ``add`` types its decorator from the ``body`` and ``query``
    models, so mypy refuses a handler whose ``Call[Body, Query]`` does not match them; a
    multipart endpoint's body is ``Body | None`` (None when a form was sent)."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    @overload
    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: None = None,
        query: None = None,
        multipart: Literal[False] = False,
        **options: Unpack[Options],
    ) -> Register[None, None]: ...

    @overload
    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: type[B],
        query: None = None,
        multipart: Literal[False] = False,
        **options: Unpack[Options],
    ) -> Register[B, None]: ...

    @overload
    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: None = None,
        query: type[Q],
        multipart: Literal[False] = False,
        **options: Unpack[Options],
    ) -> Register[None, Q]: ...

    @overload
    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: type[B],
        query: type[Q],
        multipart: Literal[False] = False,
        **options: Unpack[Options],
    ) -> Register[B, Q]: ...

    @overload
    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: type[B],
        query: None = None,
        multipart: Literal[True],
        **options: Unpack[Options],
    ) -> Register[B | None, None]: ...

    @overload
    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: type[B],
        query: type[Q],
        multipart: Literal[True],
        **options: Unpack[Options],
    ) -> Register[B | None, Q]: ...

    def add(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        multipart: bool = False,
        **options: Unpack[Options],
    ) -> object:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    summary,
                    body=body,
                    query=query,
                    multipart=multipart,
                    **options,
                )
            )
            return handler

        return register
