"""The web UI's sign-in session: a JWT in an HttpOnly cookie, and double-submit CSRF.

The session token is the very JWT a client would sign for itself (HS256 with the user's
API secret, ``kid`` = API key, ``iss`` "sdk"), minted by the server once the key and secret
check out. So the one ``TokenVerifier`` checks cookie and Bearer alike, nothing is stored,
and any server process of a deployment accepts it. The price: signing out clears the
cookies but cannot revoke a copied token before its ``exp`` (at most ``SESSION_SECONDS``).

CSRF: a cookie-authenticated request with an unsafe method must send ``X-CSRF-Token``
equal to the ``snapset_csrf`` cookie (double submit). The token is also an HMAC of the
session token under the user's secret, so a cookie planted by someone else (a sibling
subdomain, a plain-http response) cannot be paired with a header they chose.
A request carrying ``Authorization`` is authenticated by it alone; cookies are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import Credentials, TokenVerifier
from adapters.http.problems import HttpProblem, Unauthorized
from application.actor import Actor

SESSION_COOKIE = "snapset_session"
CSRF_COOKIE = "snapset_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 8 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
BAD_CREDENTIALS = "The API key and API secret do not match any user."
NOT_SIGNED_IN = "Not signed in: sign in to the web UI first."


class CsrfRejected(HttpProblem):
    status = 403


@dataclass(frozen=True)
class Session:
    token: str
    csrf_token: str
    credentials: Credentials
    expires: int  # unix seconds


def sign_in(
    lookup: Callable[[str], Credentials | None],
    api_key: str,
    api_secret: str,
    lifetime: int,
    now: float | None = None,
) -> Session:
    """A new session for the user with this key and secret; one message for every miss."""
    credentials = lookup(api_key)
    expected = credentials.secret if credentials is not None else secrets.token_urlsafe(32)
    matches = hmac.compare_digest(expected.encode(), api_secret.encode())
    if credentials is None or not matches:
        raise Unauthorized(BAD_CREDENTIALS)
    issued = int(now if now is not None else time.time())
    token = jwt.encode(
        {
            "sub": api_key,
            "iat": issued,
            "exp": issued + lifetime,
            "iss": "sdk",
            "jti": secrets.token_urlsafe(16),
        },
        credentials.secret,
        algorithm="HS256",
        headers={"kid": api_key, "typ": "JWT"},
    )
    return Session(token, csrf_token_for(token, credentials.secret), credentials, issued + lifetime)


def current(verifier: TokenVerifier, request: Request) -> Session:
    """The session the request's cookie holds; 401 when there is none or it is not valid."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized(NOT_SIGNED_IN)
    try:
        credentials = verifier.verify(token)
    except Unauthorized as error:
        raise Unauthorized(f"The session is not valid ({error.detail}): sign in again.") from None
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    return Session(token, csrf_token_for(token, credentials.secret), credentials, expires)


def authenticate(verifier: TokenVerifier, request: Request) -> Actor:
    """The caller: by the Authorization header if sent, else by the session cookie.

    Several Authorization headers are refused, not read first-wins: a proxy that adds its
    own must not let a client's second header (or the proxy's) decide who the caller is.
    """
    sent = request.headers.getlist("authorization")
    if len(sent) > 1:
        raise Unauthorized("Send one Authorization header, not several.")
    authorization = sent[0] if sent else None
    if authorization or SESSION_COOKIE not in request.cookies:
        return verifier.actor(authorization)
    session = current(verifier, request)
    if request.method not in SAFE_METHODS:
        _check_csrf(request, session)
    credentials = session.credentials
    return Actor(credentials.user_id, credentials.email, credentials.is_admin)


def csrf_token_for(token: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), b"snapset-csrf\0" + token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def set_cookies(
    response: Response, session: Session, *, secure: bool, now: float | None = None
) -> None:
    max_age = max(0, session.expires - int(now if now is not None else time.time()))
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        session.csrf_token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,
        samesite="strict",
    )


def clear_cookies(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="strict")


def _check_csrf(request: Request, session: Session) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not sent:
        raise CsrfRejected(
            f"A {request.method} signed in by the session cookie must send "
            "the X-CSRF-Token header (the snapset_csrf cookie's value)."
        )
    if not (
        hmac.compare_digest(sent.encode(), cookie.encode())
        and hmac.compare_digest(sent.encode(), session.csrf_token.encode())
    ):
        raise CsrfRejected(
            "The X-CSRF-Token header does not match this session's CSRF "
            "token: reload the page or sign in again."
        )
