"""Endpoints served: routing, input validation and threadpool dispatch.

A handler is a plain ``def`` taking a ``Call[Body, Query]`` (adapters/http/call.py), declared
in a ``Registry`` (adapters/http/registry.py). The async shell around it reads and validates
the body (with a size limit) and the query, authenticates, builds the ``Call`` and runs the
handler in the threadpool. The same declarations generate ``/openapi.json``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.http.call import Call
from adapters.http.problems import BadInput, BodyTooLarge
from adapters.http.registry import Endpoint, Registry
from adapters.http.services import Services
from application.actor import Actor
from domain.errors import Invalid

M = TypeVar("M", bound=BaseModel)


def routes(
    registry: Registry, services: Services, authenticate: Callable[[Request], Actor]
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
    methods: dict[str, Endpoint], services: Services, authenticate: Callable[[Request], Actor]
) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        endpoint = methods[request.method if request.method != "HEAD" else "GET"]
        actor = (
            Actor("", "anonymous")
            if endpoint.public
            else await run_in_threadpool(authenticate, request)
        )
        query = None if endpoint.query is None else _validate(endpoint.query, _query_dict(request))
        form: FormData | None = None
        body: BaseModel | None = None
        if endpoint.multipart and _is_multipart(request):
            form = await request.form(
                max_files=10_000, max_fields=100, max_part_size=services.settings.max_upload_bytes
            )
        elif endpoint.body is not None:
            body = _validate(endpoint.body, await _json(request, services.settings.max_body_bytes))
        call = Call(request, actor, dict(request.path_params), services, body, query, form)
        try:
            result = await run_in_threadpool(endpoint.handler, call)
        finally:
            if form is not None:
                await form.close()
        return _respond(result, endpoint.status)

    return dispatch


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def _query_dict(request: Request) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in query:
            raise BadInput(f"The query parameter {key!r} is given more than once.")
        query[key] = value
    return query


async def _json(request: Request, limit: int) -> object:
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


def _validate(model: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise BadInput("The request body must be a JSON object.")
    _refuse_nul(data, "")
    return model.model_validate(data)


def _refuse_nul(data: object, where: str) -> None:
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


def _respond(result: object, status: int) -> Response:
    # Models serialise straight to JSON bytes (pydantic's Rust encoder): no dict in between.
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return Response(result.model_dump_json(), status_code=status, media_type="application/json")
    if isinstance(result, list) and all(isinstance(r, BaseModel) for r in result):
        body = "[" + ",".join(r.model_dump_json() for r in result) + "]"
        return Response(body, status_code=status, media_type="application/json")
    return JSONResponse(result, status_code=status)
