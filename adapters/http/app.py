"""The Starlette application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.http import web_session
from adapters.http.auth import Credentials, TokenVerifier
from adapters.http.endpoint import routes
from adapters.http.limits import BodyLimit
from adapters.http.openapi import openapi
from adapters.http.problems import HANDLERS
from adapters.http.registry import Registry
from adapters.http.routes import annotations as annotation_routes
from adapters.http.routes import (
    datasets,
    enrichment,
    explore,
    exports,
    snapshots,
    system,
    tasks,
    web,
)
from adapters.http.routes.system import docs_page, openapi_response
from adapters.http.services import Services
from adapters.runtime import Runtime
from adapters.settings import Settings
from application.actor import Actor

VERSION = "0.1.0"


def registry() -> Registry:
    merged = Registry()
    for module in (
        system,
        datasets,
        snapshots,
        tasks,
        enrichment,
        annotation_routes,
        explore,
        exports,
        web,
    ):
        merged.endpoints.extend(module.registry.endpoints)
    return merged


def create_app(
    runtime: Runtime, settings: Settings, *, run_projections: bool = False, run_worker: bool = False
) -> Any:
    app_service = runtime.backend.app

    def lookup(api_key: str) -> Credentials | None:
        user = app_service.get_user_by_api_key(api_key)
        if user is None:
            return None
        return Credentials(str(user.id), user.email, user.api_secret, user.is_admin)

    verifier = TokenVerifier(lookup, settings.max_token_ttl)
    services = Services(runtime, settings, verifier)

    def authenticate(request: Request) -> Actor:
        return web_session.authenticate(verifier, request)

    declared = registry()
    spec = openapi(declared, title="snapset", version=VERSION)

    async def openapi_json(request: Request) -> Response:
        return openapi_response(spec)

    async def docs(request: Request) -> Response:
        return docs_page()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.start(projections=run_projections, worker=run_worker, listen=True)
        try:
            yield
        finally:
            runtime.stop()

    starlette = Starlette(
        routes=[
            *routes(declared, services, authenticate),
            Route("/openapi.json", openapi_json),
            Route("/docs", docs),
            *web.pages(),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    starlette.state.services = services
    return BodyLimit(
        starlette, json_limit=settings.max_body_bytes, upload_limit=settings.max_upload_bytes
    )
