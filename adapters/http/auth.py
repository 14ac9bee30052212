"""Bearer JWTs signed by each user with their API secret (HS256, ``kid`` = API key)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from adapters.http.problems import Unauthorized
from application.actor import Actor

MAX_TOKEN_BYTES = 4096
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Credentials:
    user_id: str
    email: str
    secret: str
    is_admin: bool


def make_token(api_key: str, api_secret: str, ttl: int = 3600, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return jwt.encode(
        {"sub": api_key, "iat": issued, "exp": issued + ttl, "iss": "sdk"},
        api_secret,
        algorithm="HS256",
        headers={"kid": api_key, "typ": "JWT"},
    )


class TokenVerifier:
    def __init__(self, lookup: Callable[[str], Credentials | None], max_ttl: int) -> None:
        self._lookup = lookup
        self._max_ttl = max_ttl
        self._cache: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    def actor(self, authorization: str | None) -> Actor:
        if not authorization:
            raise Unauthorized("Authentication is required: send 'Authorization: Bearer <jwt>'.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("The Authorization header must be 'Bearer <jwt>'.")
        credentials = self.verify(token.strip())
        return Actor(credentials.user_id, credentials.email, credentials.is_admin)

    def verify(self, token: str) -> Credentials:
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthorized("The token is too long.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The token is malformed.") from None
        if header.get("alg") != "HS256":
            raise Unauthorized("The token must be signed with HS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 200:
            raise Unauthorized("The token has no key id (kid).")
        credentials = self._credentials(kid)
        if credentials is None:
            raise Unauthorized("The token's key id is unknown.")
        try:
            claims = jwt.decode(
                token,
                credentials.secret,
                algorithms=["HS256"],
                issuer="sdk",
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"The token is invalid ({_reason(error)}).") from None
        if claims["sub"] != kid:
            raise Unauthorized("The token's subject does not match its key id.")
        if not isinstance(claims["exp"], int) or not isinstance(claims["iat"], int):
            raise Unauthorized("The token's exp and iat must be integer seconds.")
        if claims["exp"] - claims["iat"] > self._max_ttl:
            raise Unauthorized(f"The token lives longer than the allowed {self._max_ttl} s.")
        return credentials

    def _credentials(self, api_key: str) -> Credentials | None:
        with self._lock:
            cached = self._cache.get(api_key)
        if cached is not None:
            return cached
        credentials = self._lookup(api_key)
        if credentials is not None:
            with self._lock:
                self._cache[api_key] = credentials
        return credentials


def _reason(error: Exception) -> str:
    names = {
        jwt.InvalidSignatureError: "bad signature",
        jwt.ImmatureSignatureError: "not valid yet",
        jwt.InvalidIssuerError: "wrong issuer",
        jwt.MissingRequiredClaimError: "a required claim is missing",
        jwt.DecodeError: "cannot be decoded",
    }
    return next(
        (text for cls, text in names.items() if isinstance(error, cls)), type(error).__name__
    )
