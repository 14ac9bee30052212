"""Bearer JWTs signed by each user with their API secret (HS256, ``kid`` = API key)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from adapters.http.problems import Unauthorized
from application.actor import Actor

MAX_TOKEN_BYTES = 4096
LEEWAY_SECONDS = 30
CACHE_BYTES = 1 << 20  # about 2,000 users' credentials
# An entry's memory besides its key's, email's and secret's characters (the dataclass, the
# user id, its tuple, the dict slot): with them, tracemalloc measured about 440 bytes.
_ENTRY_BYTES = 320


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
    """Checks a request's bearer token against its key's credentials, which it keeps for
    the keys used most recently, up to ``cache_bytes`` of them (estimated)."""

    def __init__(
        self,
        lookup: Callable[[str], Credentials | None],
        max_ttl: int,
        *,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        self._lookup = lookup
        self._max_ttl = max_ttl
        self._cache: OrderedDict[str, tuple[Credentials, int]] = OrderedDict()
        self._cached = 0
        self._cache_bytes = cache_bytes
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        return self._cached

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
                self._cache.move_to_end(api_key)
                return cached[0]
        credentials = self._lookup(api_key)
        if credentials is not None:
            self._keep(api_key, credentials)
        return credentials

    def _keep(self, api_key: str, credentials: Credentials) -> None:
        size = _ENTRY_BYTES + len(api_key) + len(credentials.email) + len(credentials.secret)
        with self._lock:
            old = self._cache.pop(api_key, None)
            self._cached += size - (old[1] if old else 0)
            self._cache[api_key] = (credentials, size)
            while self._cached > self._cache_bytes and self._cache:
                self._cached -= self._cache.popitem(last=False)[1][1]


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
