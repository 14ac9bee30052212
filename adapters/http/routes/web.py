"""The web UI: its sign-in session (``/ui/session``) and its files (``/``, ``/ui/static/``).

The page is plain JavaScript with no inline script or style, so index.html carries a strict
Content-Security-Policy. Files are served with ``Cache-Control: no-cache`` (revalidate by
ETag): there is no build step to give them content-hashed names.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from adapters.http import web_session
from adapters.http.auth import Credentials
from adapters.http.call import Call
from adapters.http.models_web import SignIn, WebSession
from adapters.http.registry import Registry
from adapters.http.services import Services

registry = Registry()
TAGS = ("web ui",)
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
INDEX_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
COOKIE_NOTE = (
    "The web UI's session lives in the HttpOnly cookie `snapset_session`; the JSON "
    "API accepts it in place of a Bearer token. With the cookie, POST, PATCH, PUT "
    "and DELETE must send `X-CSRF-Token` equal to the `snapset_csrf` cookie (403 "
    "otherwise). A request with an Authorization header ignores both cookies."
)


@registry.add(
    "POST",
    "/ui/session",
    "Sign in to the web UI with an API key and secret.",
    public=True,
    body=SignIn,
    response=WebSession,
    errors=(401,),
    tags=TAGS,
    extra={
        "description": "Sets the session cookies (8 hours, capped by the "
        "server's maximum token lifetime). " + COOKIE_NOTE
    },
)
def sign_in(call: Call[SignIn, None]) -> Response:
    lifetime = min(web_session.SESSION_SECONDS, call.services.settings.max_token_ttl)
    session = web_session.sign_in(
        lambda key: _credentials(call.services, key),
        call.body.api_key,
        call.body.api_secret,
        lifetime,
    )
    return _session_response(call.request, session)


@registry.add(
    "GET",
    "/ui/session",
    "Who is signed in to the web UI, and the CSRF token.",
    public=True,
    response=WebSession,
    errors=(401,),
    tags=TAGS,
    extra={"description": COOKIE_NOTE},
)
def get_session(call: Call[None, None]) -> Response:
    session = web_session.current(call.services.verifier, call.request)
    return _session_response(call.request, session)


@registry.add(
    "DELETE",
    "/ui/session",
    "Sign out of the web UI: clears the session cookies.",
    public=True,
    status=204,
    tags=TAGS,
    extra={
        "description": "The session token is a JWT: a copy taken before sign-out "
        "stays valid until it expires."
    },
)
def sign_out(call: Call[None, None]) -> Response:
    response = Response(status_code=204)
    web_session.clear_cookies(response, secure=call.request.url.scheme == "https")
    return response


def pages() -> list[BaseRoute]:
    """``/`` and ``/ui`` answer index.html; ``/ui/static/`` the page's scripts and styles."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/ui", index, methods=["GET"]),
        Route("/favicon.ico", no_favicon, methods=["GET"]),
        Mount(
            "/ui/static",
            app=_StaticFiles(directory=WEB_DIR / "static", check_dir=False),
            name="ui-static",
        ),
    ]


def index(request: Request) -> Response:
    path = WEB_DIR / "index.html"
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, media_type="text/html", headers=INDEX_HEADERS)


def no_favicon(request: Request) -> Response:
    """Browsers ask for it unprompted; an empty answer keeps a 404 out of their console."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


class _StaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def check_config(self) -> None:
        """A missing folder is a 404 per file, not a 500: the UI may not be installed."""
        if self.directory is not None and os.path.isdir(self.directory):
            await super().check_config()


def _credentials(services: Services, api_key: str) -> Credentials | None:
    user = services.app.get_user_by_api_key(api_key)
    if user is None:
        return None
    return Credentials(str(user.id), user.email, user.api_secret, user.is_admin)


def _session_response(request: Request, session: web_session.Session) -> Response:
    credentials = session.credentials
    body = WebSession(
        email=credentials.email, is_admin=credentials.is_admin, csrf_token=session.csrf_token
    )
    response = JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})
    web_session.set_cookies(response, session, secure=request.url.scheme == "https")
    return response
