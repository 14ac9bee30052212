"""A handler's ``Call[Body, Query]`` matches the models its endpoint is registered with.

``Registry.add`` is overloaded so that mypy refuses a mismatch; the first test runs mypy on
registrations that must pass and ones that must be refused, so loosening those overloads
fails here. The second checks the application's own handlers at run time: each declares
exactly the Call its models make, which catches a mismatch a ``# type: ignore`` let through.
"""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

from mypy import api

from adapters.http.app import registry
from adapters.http.call import Call

ROOT = Path(__file__).resolve().parents[2]

CASES = """\
from collections.abc import Callable

from pydantic import BaseModel

from adapters.http.call import Call
from adapters.http.registry import Registry


class Body(BaseModel):
    text: str


class Query(BaseModel):
    page: int


class Other(BaseModel):
    page: int


registry = Registry()


@registry.add("GET", "/a", "Neither.")
def neither(call: Call[None, None]) -> None: ...


@registry.add("POST", "/b", "Body.", body=Body)
def body(call: Call[Body, None]) -> str:
    return call.body.text


@registry.add("GET", "/c", "Query.", query=Query)
def query(call: Call[None, Query]) -> int:
    return call.query.page


@registry.add("POST", "/d", "Both.", body=Body, query=Query)
def both(call: Call[Body, Query]) -> int:
    return len(call.body.text) + call.query.page


@registry.add("POST", "/e", "Upload.", body=Body, multipart=True)
def upload(call: Call[Body | None, None]) -> str:
    return "form" if call.form is not None else call.json_body().text


@registry.add("POST", "/f", "Reads neither.", body=Body, query=Query)
def reads_neither(call: Call[object, object]) -> None: ...


@registry.add("POST", "/g", "Another body.", body=Body)  # refused
def other_body(call: Call[Other, None]) -> None: ...


@registry.add("GET", "/h", "No body.")  # refused
def unsent_body(call: Call[Body, None]) -> None: ...


@registry.add("POST", "/i", "A body.", body=Body)  # refused
def ignored_body(call: Call[None, None]) -> None: ...


@registry.add("GET", "/j", "Another query.", query=Query)  # refused
def other_query(call: Call[None, Other]) -> None: ...


@registry.add("GET", "/k", "Swapped.", query=Query)  # refused
def swapped(call: Call[Query, None]) -> None: ...


@registry.add("POST", "/l", "Upload.", body=Body, multipart=True)  # refused
def form_ignored(call: Call[Body, None]) -> None: ...


# Registering gives the handler back with its own type.
returns_int: Callable[[Call[Body, None]], int] = body  # refused
"""


def _mypy(source: Path, cache: Path) -> list[str]:
    # A copy of the cache `make typecheck` leaves makes this take a second, not ten.
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", cache)
    out, err, _ = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--show-error-codes",
            str(source),
        ]
    )
    assert err == ""
    return out.splitlines()


def test_mypy_refuses_exactly_the_handlers_whose_call_does_not_match_their_models(
    tmp_path: Path,
) -> None:
    source = tmp_path / "registrations.py"
    source.write_text(CASES)
    refused = {number for number, line in enumerate(CASES.splitlines(), 1) if "# refused" in line}
    errors = [line for line in _mypy(source, tmp_path / "cache") if ": error:" in line]
    assert {int(line.split(":")[1]) for line in errors} == refused, "\n".join(errors)


def _expected(model: type | None, *, optional: bool = False) -> object:
    if model is None:
        return type(None)
    return model | None if optional else model


def test_every_handler_takes_the_call_its_endpoint_s_models_make() -> None:
    mismatched = []
    endpoints = registry().endpoints
    for endpoint in endpoints:
        hint = typing.get_type_hints(endpoint.handler)["call"]
        assert typing.get_origin(hint) is Call, endpoint.handler.__name__
        expected = (
            _expected(endpoint.body, optional=endpoint.multipart),
            _expected(endpoint.query),
        )
        if typing.get_args(hint) != expected:
            mismatched.append(
                f"{endpoint.handler.__name__} takes {hint}, registered with body="
                f"{endpoint.body} (multipart: {endpoint.multipart}), query={endpoint.query}"
            )
    assert mismatched == []
    assert any(e.body and e.multipart for e in endpoints)
    assert any(e.body and not e.multipart for e in endpoints)
    assert any(e.query for e in endpoints)
