"""Endpoints declared once: routing, input validation, threadpool dispatch and OpenAPI.

A handler is a plain ``def`` taking a ``Call``. The async shell around it reads and validates
the body (with a size limit) and the query, authenticates, then runs the handler in the
threadpool. The same declarations generate ``/openapi.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.http.problems import BadInput, BodyTooLarge
from application.actor import Actor
from domain.errors import Invalid

Handler = Callable[["Call"], Any]
H = TypeVar("H", bound=Handler)


@dataclass
class Call:
    request: Request
    actor: Actor
    path: dict[str, str]
    body: Any = None
    query: Any = None
    form: FormData | None = None
    services: Any = None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


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
    extra: dict[str, Any] = field(default_factory=dict)


class Registry:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def add(self, method: str, path: str, summary: str, **options: Any) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self.endpoints.append(Endpoint(method, path, handler, summary, **options))
            return handler

        return register


def routes(
    registry: Registry, services: Any, authenticate: Callable[[Request], Actor]
) -> list[Route]:
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in registry.endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    # Literal segments before parameters: a request a route matches by path but not by
    # method gets its 405 (and Allow) from the first such route, so /media/tags must come
    # before /media/{media_id}. A full match is found wherever it is.
    return [
        Route(path, _dispatcher(methods, services, authenticate), methods=list(methods))
        for path, methods in sorted(by_path.items(), key=lambda item: _literal_first(item[0]))
    ]


def _literal_first(path: str) -> list[tuple[bool, str]]:
    return [(segment.startswith("{"), segment) for segment in path.split("/")]


def _dispatcher(
    methods: dict[str, Endpoint], services: Any, authenticate: Callable[[Request], Actor]
) -> Callable[[Request], Any]:
    async def dispatch(request: Request) -> Response:
        endpoint = methods[request.method if request.method != "HEAD" else "GET"]
        actor = (
            Actor("", "anonymous")
            if endpoint.public
            else await run_in_threadpool(authenticate, request)
        )
        call = Call(request, actor, dict(request.path_params), services=services)
        if endpoint.query is not None:
            call.query = _validate(endpoint.query, _query_dict(request))
        if endpoint.multipart and _is_multipart(request):
            call.form = await request.form(
                max_files=10_000, max_fields=100, max_part_size=services.settings.max_upload_bytes
            )
        elif endpoint.body is not None:
            call.body = _validate(
                endpoint.body, await _json(request, services.settings.max_body_bytes)
            )
        try:
            result = await run_in_threadpool(endpoint.handler, call)
        finally:
            if call.form is not None:
                await call.form.close()
        return _respond(result, endpoint.status)

    return dispatch


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def _query_dict(request: Request) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in query:
            raise BadInput(f"The query parameter {key!r} is given more than once.")
        query[key] = value
    return query


async def _json(request: Request, limit: int) -> Any:
    content_type = request.headers.get("content-type", "application/json")
    raw = await _body(request, limit)
    if not raw.strip():
        return {}
    if "json" not in content_type:
        raise BadInput("The request body must be JSON (Content-Type: application/json).")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadInput("The request body is not valid JSON.") from None


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it passes ``limit``. The middleware lets a body that
    says it is multipart run to the upload limit; a route that reads JSON keeps the JSON
    limit, and stops reading there."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"The request body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _validate(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise BadInput("The request body must be a JSON object.")
    _refuse_nul(data, "")
    return model.model_validate(data)


def _refuse_nul(data: Any, where: str) -> None:
    """422 for a NUL character anywhere in the request's text (keys too): no store keeps it."""
    if isinstance(data, str):
        if "\x00" in data:
            raise Invalid(f"The value of {where or 'the request'} contains a NUL character.")
    elif isinstance(data, dict):
        for key, value in data.items():
            _refuse_nul(key, where or "a key")
            _refuse_nul(value, f"{where}.{key}".strip("."))
    elif isinstance(data, list):
        for number, value in enumerate(data):
            _refuse_nul(value, f"{where}.{number}".strip("."))


def _respond(result: Any, status: int) -> Response:
    # Models serialise straight to JSON bytes (pydantic's Rust encoder): no dict in between.
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return Response(result.model_dump_json(), status_code=status, media_type="application/json")
    if isinstance(result, list) and all(isinstance(r, BaseModel) for r in result):
        body = "[" + ",".join(r.model_dump_json() for r in result) + "]"
        return Response(body, status_code=status, media_type="application/json")
    return JSONResponse(result, status_code=status)
