"""What a handler is given: the request, who asks, its validated body and query, the services.

``Call[Body, Query]`` names the models the endpoint was registered with (``None`` where it
takes none); ``Registry.add`` checks a handler's ``Call`` type against them. A helper that
reads neither takes ``Call[object, object]``, which every call is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request

from application.actor import Actor

if TYPE_CHECKING:  # services.py takes calls too
    from adapters.http.services import Services

BodyT_co = TypeVar("BodyT_co", covariant=True)
QueryT_co = TypeVar("QueryT_co", covariant=True)
B = TypeVar("B")


@dataclass(frozen=True)
class Call(Generic[BodyT_co, QueryT_co]):
    request: Request
    actor: Actor
    path: dict[str, str]
    services: Services
    body: BodyT_co
    query: QueryT_co
    form: FormData | None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def json_body(self: Call[B | None, object]) -> B:
        """A multipart endpoint's JSON body, when no form was sent: the endpoint shell reads
        one or the other."""
        assert self.body is not None, "no form, so the JSON body was read and validated"
        return self.body
