"""Where errors meet HTTP codes: one map, and handlers that always answer ``{"detail": ...}``.

HTTP-level errors (raised by the HTTP adapter itself):
- BadInput (400): the body or query cannot be read.
- Unauthorized (401): no token, or a token that fails verification.
- BodyTooLarge (413): a JSON body over the JSON limit, whatever its Content-Type claims.
(413 for a body over the limit its Content-Type picks is answered by
``adapters.http.limits``.)
Domain errors map by class (see ``domain.errors``); validation errors are 422.
"""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooManyTasks,
)

log = logging.getLogger(__name__)


class HttpProblem(Exception):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadInput(HttpProblem):
    status = 400


class Unauthorized(HttpProblem):
    status = 401


class BodyTooLarge(HttpProblem):
    status = 413


STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    BadRequest: 400,
    Invalid: 422,
    TooManyTasks: 429,
}


def _detail(detail: str, status: int, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


async def on_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    status = next(code for cls, code in STATUS_OF.items() if isinstance(error, cls))
    response = _detail(error.detail, status)
    if isinstance(error, TooManyTasks):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def on_http_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, HttpProblem)
    return _detail(error.detail, error.status)


async def on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ValidationError)
    items = [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_input=False)
    ]
    first = items[0] if items else {"loc": [], "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return _detail(f"Invalid value for {where}: {first['msg']}.", 422, errors=items)


async def on_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    detail = (
        error.detail
        if isinstance(error.detail, str) and error.detail
        else "The request cannot be served."
    )
    if error.status_code == 404:
        detail = f"No such endpoint: {request.method} {request.url.path}."
    elif error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    response = _detail(detail, error.status_code)
    response.headers.update(error.headers or {})  # e.g. the Allow header a 405 must carry
    return response


async def on_persistence_error(request: Request, error: Exception) -> Response:
    log.warning("database error: %s", error)
    return _detail("The database is unavailable right now; try again shortly.", 503)


async def on_unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _detail("Internal server error.", 500)


HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    HttpProblem: on_http_problem,
    ValidationError: on_validation_error,
    HTTPException: on_http_exception,
    PersistenceError: on_persistence_error,
    Exception: on_unexpected,
}
