"""Every forged, broken or misused JWT is a 401 with a JSON detail, on both backends.

API.md: a client signs HS256 with its API secret; header `{"alg": "HS256", "typ": "JWT",
"kid": <api_key>}`; claims `sub` = api_key, `iat`, `exp` (integer seconds), `iss` = "sdk".
The server rejects any other `alg`, a bad signature, an unknown `kid`, a missing or past
`exp`, a token not valid yet, a wrong `iss`, a token living longer than the maximum and
anything malformed, with 401. Each case below is its own test and is sent three ways (a
read, a read of a real dataset, and a write that would create a dataset), carried as a
Bearer header and, for token cases, as the web UI's session cookie; the write must not have
happened. Control tests show the same requests pass with a good token.

tests/e2e/test_auth.py covers a first set of these on two reads; this matrix adds the
RS256/HS256 confusions, `nbf`, embedded keys, forged `kid`s, 64 KB tokens, duplicate
Authorization headers, the cookie carrier and the write path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from adapters.http.web_session import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for
from tests.conftest import BACKENDS
from tests.e2e import helpers
from tests.e2e.helpers import b64, forge, problem
from tests.reliability.security_support import add_user, anonymous, serving
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess

pytestmark = pytest.mark.reliability
no_server_errors = helpers.no_server_errors
YEAR = 365 * 24 * 3600


@dataclass
class Site:
    server: ServerProcess
    admin: SnapsetClient
    other: SnapsetClient
    dataset_id: str
    rsa: RSA.RsaKey

    @property
    def key(self) -> str:
        return self.server.api_key

    @property
    def secret(self) -> str:
        return self.server.api_secret


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp(f"jwt-{request.param}")
    with serving(request.param, folder) as server:
        admin = SnapsetClient(server.base_url, server.api_key, server.api_secret)
        other = add_user(server, "other@example.com")
        try:
            dataset_id = admin.create_dataset("jwt-target")
            yield Site(server, admin, other, dataset_id, RSA.generate(2048))
        finally:
            admin.close()
            other.close()


# Building tokens.


def header(site: Site, **overrides: Any) -> dict[str, Any]:
    """The header API.md prescribes, with ``overrides`` (a value of ... drops the key)."""
    made: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "kid": site.key, **overrides}
    return {k: v for k, v in made.items() if v is not ...}


def claims(site: Site, **overrides: Any) -> dict[str, Any]:
    """The claims API.md prescribes, valid for ten minutes from now, with ``overrides`` (a
    value of ... drops the claim; None stays as JSON null)."""
    now = int(time.time())
    made: dict[str, Any] = {
        "sub": site.key,
        "iat": now,
        "exp": now + 600,
        "iss": "sdk",
        **overrides,
    }
    return {k: v for k, v in made.items() if v is not ...}


def signed(
    site: Site,
    head: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    secret: str | None = None,
) -> str:
    return forge(
        header(site) if head is None else head,
        claims(site) if body is None else body,
        site.secret if secret is None else secret,
    )


def rs256(head: dict[str, Any], body: dict[str, Any], key: RSA.RsaKey) -> str:
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    signature = pkcs1_15.new(key).sign(SHA256.new(signing_input.encode()))
    return f"{signing_input}.{b64(signature)}"


def jwk_of(key: RSA.RsaKey) -> dict[str, str]:
    def number(n: int) -> str:
        return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "n": number(key.n), "e": number(key.e)}


def public_pem(site: Site) -> str:
    return site.rsa.public_key().export_key("PEM").decode()


def segments(token: str) -> list[str]:
    return token.split(".")


def with_payload(site: Site, **overrides: Any) -> str:
    """A good token whose payload is replaced, keeping the original signature."""
    head, _, signature = segments(signed(site))
    return f"{head}.{b64(json.dumps(claims(site, **overrides)).encode())}.{signature}"


def with_header(site: Site, **overrides: Any) -> str:
    """A good token whose header is replaced, keeping the original signature."""
    _, payload, signature = segments(signed(site))
    return f"{b64(json.dumps(header(site, **overrides)).encode())}.{payload}.{signature}"


def flipped(token: str) -> str:
    head, payload, signature = segments(token)
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{head}.{payload}.{b64(bytes(raw))}"


def raw_token(head: bytes, payload: bytes, signature: str = "c2ln") -> str:
    return f"{b64(head)}.{b64(payload)}.{signature}"


Token = Callable[[Site], str]

TOKENS: dict[str, Token] = {
    # The algorithm.
    "alg-none-unsigned": lambda s: forge(header(s, alg="none"), claims(s), None),
    "alg-none-with-a-signature": lambda s: forge(header(s, alg="none"), claims(s), s.secret),
    "alg-NONE-unsigned": lambda s: forge(header(s, alg="NONE"), claims(s), None),
    "no-alg": lambda s: signed(s, header(s, alg=...)),
    "alg-null": lambda s: signed(s, header(s, alg=None)),
    "HS384-with-the-secret": lambda s: forge(
        header(s, alg="HS384"), claims(s), s.secret, hashlib.sha384
    ),
    "HS512-with-the-secret": lambda s: forge(
        header(s, alg="HS512"), claims(s), s.secret, hashlib.sha512
    ),
    "RS256-signed-with-an-attackers-rsa-key": lambda s: rs256(
        header(s, alg="RS256"), claims(s), s.rsa
    ),
    "RS256-with-the-attackers-key-embedded-as-jwk": lambda s: rs256(
        header(s, alg="RS256", jwk=jwk_of(s.rsa)), claims(s), s.rsa
    ),
    "RS256-with-a-jku-to-fetch-keys-from": lambda s: rs256(
        header(s, alg="RS256", jku="http://127.0.0.1:9/jwks.json"), claims(s), s.rsa
    ),
    "HS256-signed-with-a-public-key-pem-as-secret": lambda s: signed(s, secret=public_pem(s)),
    "HS256-with-an-embedded-symmetric-jwk": lambda s: signed(
        s, header(s, jwk={"kty": "oct", "k": b64(b"attacker")}), secret="attacker"
    ),
    # Time.
    "expired-an-hour-ago": lambda s: signed(
        s, body=claims(s, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    ),
    "nbf-an-hour-from-now": lambda s: signed(s, body=claims(s, nbf=int(time.time()) + 3600)),
    "iat-an-hour-from-now": lambda s: signed(
        s, body=claims(s, iat=int(time.time()) + 3600, exp=int(time.time()) + 4200)
    ),
    "no-exp": lambda s: signed(s, body=claims(s, exp=...)),
    "exp-null": lambda s: signed(s, body=claims(s, exp=None)),
    "exp-a-string": lambda s: signed(s, body=claims(s, exp=str(int(time.time()) + 600))),
    "exp-a-float": lambda s: signed(s, body=claims(s, exp=time.time() + 600.5)),
    "exp-in-the-year-3000": lambda s: signed(s, body=claims(s, exp=32503680000)),
    "lives-ten-years": lambda s: signed(s, body=claims(s, exp=int(time.time()) + 10 * YEAR)),
    "no-iat": lambda s: signed(s, body=claims(s, iat=...)),
    "iat-a-string": lambda s: signed(s, body=claims(s, iat="now")),
    # Issuer and subject.
    "no-iss": lambda s: signed(s, body=claims(s, iss=...)),
    "wrong-iss": lambda s: signed(s, body=claims(s, iss="someone-else")),
    "iss-empty": lambda s: signed(s, body=claims(s, iss="")),
    "iss-SDK-uppercase": lambda s: signed(s, body=claims(s, iss="SDK")),
    "iss-in-a-list": lambda s: signed(s, body=claims(s, iss=["sdk"])),
    "no-sub": lambda s: signed(s, body=claims(s, sub=...)),
    "sub-of-another-user": lambda s: signed(s, body=claims(s, sub=s.other.api_key)),
    # Keys.
    "signed-with-another-users-secret": lambda s: signed(s, secret=s.other.api_secret),
    "another-users-kid-with-this-secret": lambda s: signed(
        s, header(s, kid=s.other.api_key), claims(s, sub=s.other.api_key)
    ),
    "wrong-secret": lambda s: signed(s, secret="not-the-secret"),
    "empty-secret": lambda s: signed(s, secret=""),
    "unknown-kid": lambda s: signed(s, header(s, kid="f" * 32), claims(s, sub="f" * 32)),
    "unknown-kid-uuid": lambda s: signed(s, header(s, kid=str(uuid.uuid4()))),
    "no-kid": lambda s: signed(s, header(s, kid=...)),
    "kid-empty": lambda s: signed(s, header(s, kid="")),
    "kid-null": lambda s: signed(s, header(s, kid=None)),
    "kid-a-number": lambda s: signed(s, header(s, kid=12345)),
    "kid-a-list": lambda s: signed(s, header(s, kid=[s.key])),
    "kid-path-traversal": lambda s: signed(s, header(s, kid="../../../../etc/passwd")),
    "kid-sql": lambda s: signed(s, header(s, kid="x' OR '1'='1")),
    "kid-with-a-nul": lambda s: signed(s, header(s, kid=s.key + "\x00")),
    "kid-10k-characters": lambda s: signed(s, header(s, kid="k" * 10_000)),
    "kid-uppercase": lambda s: signed(
        s, header(s, kid=s.key.upper()), claims(s, sub=s.key.upper())
    ),
    # Tampering.
    "tampered-payload-exp-pushed-out": lambda s: with_payload(s, exp=int(time.time()) + 3000),
    "tampered-payload-sub-changed": lambda s: with_payload(s, sub=s.other.api_key),
    "tampered-header-kid-changed": lambda s: with_header(s, kid=s.other.api_key),
    "signature-bit-flipped": lambda s: flipped(signed(s)),
    "signature-stripped": lambda s: ".".join(segments(signed(s))[:2]),
    "signature-empty": lambda s: ".".join(segments(signed(s))[:2]) + ".",
    "signature-of-another-token": lambda s: ".".join(
        segments(signed(s))[:2] + segments(signed(s, body=claims(s, exp=int(time.time()) + 9)))[2:]
    ),
    # Size and shape.
    "oversized-64-kb-correctly-signed": lambda s: signed(s, body=claims(s, pad="p" * 65_536)),
    "oversized-64-kb-garbage": lambda s: "a" * 65_536,
    "garbage-word": lambda s: "garbage",
    "dots-only": lambda s: "...",
    "a.b.c": lambda s: "a.b.c",
    "empty-objects": lambda s: "e30.e30.e30",
    "four-segments": lambda s: signed(s) + ".extra",
    "five-segments-jwe-shape": lambda s: "eyJhbGciOiJkaXIifQ..aXY.Y3Q.dGFn",
    "unicode-garbage": lambda s: "\u00e9\u00e8\u2603.\u2603.\u2603",
    "header-not-base64": lambda s: "!!!." + segments(signed(s))[1] + ".sig",
    "header-not-json": lambda s: raw_token(b"not json", json.dumps(claims(s)).encode()),
    "header-a-json-array": lambda s: raw_token(b"[1, 2]", json.dumps(claims(s)).encode()),
    "payload-a-json-array-but-signed": lambda s: _signed_raw(s, b"[1, 2]"),
    "payload-null": lambda s: raw_token(json.dumps(header(s)).encode(), b"null"),
    "payload-not-json-but-signed": lambda s: _signed_raw(s, b"not json"),
    "padding-in-segments": lambda s: ".".join(p + "==" for p in segments(signed(s))),
    "token-with-inner-space": lambda s: signed(s).replace(".", ". ", 1),
}


def _signed_raw(site: Site, payload: bytes) -> str:
    signing_input = f"{b64(json.dumps(header(site)).encode())}.{b64(payload)}"
    signature = hmac.new(site.secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


Headers = Callable[[Site], list[tuple[str, str]]]


def good(site: Site) -> str:
    return signed(site)


AUTHORIZATIONS: dict[str, Headers] = {
    "no-authorization-header": lambda s: [],
    "empty-authorization": lambda s: [("Authorization", "")],
    "bearer-without-a-token": lambda s: [("Authorization", "Bearer")],
    "bearer-and-an-empty-quoted-string": lambda s: [("Authorization", 'Bearer ""')],
    "basic-with-key-and-secret": lambda s: [
        ("Authorization", "Basic " + base64.b64encode(f"{s.key}:{s.secret}".encode()).decode())
    ],
    "token-scheme": lambda s: [("Authorization", f"Token {good(s)}")],
    "jwt-scheme": lambda s: [("Authorization", f"JWT {good(s)}")],
    "no-scheme": lambda s: [("Authorization", good(s))],
    "bearer-colon-no-space": lambda s: [("Authorization", f"Bearer:{good(s)}")],
    "bearer-token-and-trailing-junk": lambda s: [("Authorization", f"Bearer {good(s)} junk")],
    "two-tokens-in-one-header": lambda s: [
        ("Authorization", f"Bearer {good(s)}, Bearer {s.other.token()}")
    ],
    "two-authorization-headers-valid-first": lambda s: [
        ("Authorization", f"Bearer {good(s)}"),
        ("Authorization", "Bearer junk"),
    ],
    "two-authorization-headers-valid-second": lambda s: [
        ("Authorization", "Bearer junk"),
        ("Authorization", f"Bearer {good(s)}"),
    ],
    "two-authorization-headers-of-two-users": lambda s: [
        ("Authorization", f"Bearer {good(s)}"),
        ("Authorization", f"Bearer {s.other.token()}"),
    ],
}


# Sending them.


def as_bytes(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode("utf-8")) for k, v in headers]


def cookie_headers(token: str, csrf: str = "csrf") -> list[tuple[str, str]]:
    """The web UI's carrier: the session cookie, with a CSRF cookie and header that agree."""
    return [("Cookie", f"{SESSION_COOKIE}={token}; {CSRF_COOKIE}={csrf}"), ("X-CSRF-Token", csrf)]


def attempts(site: Site, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/api/v1/datasets", {}),
        ("GET", f"/api/v1/dataset/{site.dataset_id}", {}),
        ("POST", "/api/v1/dataset", {"json": {"dataset_name": name}}),
    ]


def dataset_names(site: Site) -> set[str]:
    page = site.admin.ok("GET", "/datasets", params={"page_size": 100})
    assert page["total"] <= 100
    return {d["display_name"] for d in page["datasets"]}


def assert_all_refused(site: Site, headers: list[tuple[str, str]], name: str) -> None:
    with anonymous(site.server) as http:
        for method, path, kwargs in attempts(site, name):
            response = http.request(method, path, headers=as_bytes(headers), **kwargs)
            problem(response, 401)
            assert response.headers.get("www-authenticate", "").startswith("Bearer"), (
                f"{method} {path}: no WWW-Authenticate"
            )
    assert name not in dataset_names(site), "a refused request created a dataset"


@pytest.mark.parametrize("case", list(TOKENS), ids=list(TOKENS))
def test_a_bad_bearer_token_is_401_and_changes_nothing(site: Site, case: str) -> None:
    token = TOKENS[case](site)
    assert_all_refused(site, [("Authorization", f"Bearer {token}")], f"bearer-{case}")


@pytest.mark.parametrize("case", list(TOKENS), ids=list(TOKENS))
def test_a_bad_session_cookie_token_is_401_and_changes_nothing(site: Site, case: str) -> None:
    assert_all_refused(site, cookie_headers(TOKENS[case](site)), f"cookie-{case}")


@pytest.mark.parametrize("case", list(AUTHORIZATIONS), ids=list(AUTHORIZATIONS))
def test_a_bad_authorization_header_is_401_and_changes_nothing(site: Site, case: str) -> None:
    assert_all_refused(site, AUTHORIZATIONS[case](site), f"header-{case}")


def test_the_same_requests_pass_with_a_good_token_in_either_carrier(site: Site) -> None:
    """The controls: each refusal above is about the token, not the requests."""
    token = good(site)
    carriers = {
        "bearer": [("Authorization", f"Bearer {token}")],
        "lowercase-bearer": [("Authorization", f"bearer {token}")],
        "cookie": cookie_headers(token, csrf_token_for(token, site.secret)),
    }
    with anonymous(site.server) as http:
        for carrier, headers in carriers.items():
            name = f"control-{carrier}"
            for method, path, kwargs in attempts(site, name):
                response = http.request(method, path, headers=as_bytes(headers), **kwargs)
                assert response.status_code == 200, f"{carrier} {method} {path}: {response.text}"
            assert name in dataset_names(site)


def test_the_other_users_own_token_works_so_their_key_is_real(site: Site) -> None:
    """The control for the cases built on the second user's key and secret."""
    response = site.other.http.get("/api/v1/datasets")
    assert response.status_code == 200, response.text
    with anonymous(site.server) as http:
        response = http.get(
            f"/api/v1/dataset/{site.dataset_id}",
            headers={"Authorization": f"Bearer {site.other.token()}"},
        )
    problem(response, 404)  # known user, no role on the admin's dataset
