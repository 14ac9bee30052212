"""Authentication over HTTP: every malformed or forbidden JWT is a 401 with a JSON detail."""

from __future__ import annotations

import hashlib
import time
import uuid

from tests.e2e import helpers
from tests.e2e.conftest import add_user
from tests.e2e.helpers import bearer, claims_for, forge, header_for, problem
from tests.support.server import ServerProcess

no_server_errors = helpers.no_server_errors
DAY = 24 * 3600


def assert_rejected(server: ServerProcess, cases: dict[str, dict[str, str]]) -> None:
    with helpers.anonymous(server) as http:
        for why, headers in cases.items():
            for path in ("/api/v1/datasets", "/api/v1/tasks"):
                response = http.get(path, headers=headers)
                assert response.status_code == 401, f"{why} on {path}: {response.text}"
                problem(response, 401)
                assert response.headers.get("www-authenticate", "").startswith("Bearer"), why


def test_missing_or_non_bearer_authorization_is_401(server: ServerProcess) -> None:
    token = helpers.forge(header_for(server.api_key), claims_for(server.api_key), server.api_secret)
    assert_rejected(
        server,
        {
            "no header": {},
            "empty header": {"Authorization": ""},
            "basic scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
            "token scheme": {"Authorization": f"Token {token}"},
            "bearer without token": {"Authorization": "Bearer"},
            "garbage token": bearer("garbage"),
            "three garbage parts": bearer("a.b.c"),
            "not base64 header": bearer("!!!.e30.sig"),
        },
    )
    with helpers.anonymous(server) as http:
        problem(http.get(f"/api/v1/dataset/{uuid.uuid4()}"), 401)
        problem(http.post(f"/api/v1/dataset/{uuid.uuid4()}/snapshot", json={}), 401)
        assert http.get("/api/v1/datasets", headers=bearer(token)).status_code == 200
        assert (
            http.get("/api/v1/datasets", headers={"Authorization": f"bearer {token}"}).status_code
            == 200
        )


def test_wrong_algorithm_signature_or_key_is_401(server: ServerProcess) -> None:
    key, secret = server.api_key, server.api_secret
    claims = claims_for(key)
    valid = forge(header_for(key), claims, secret)
    head, payload, signature = valid.split(".")
    tampered_claims = dict(claims, exp=claims["exp"] + 3600)
    tampered = f"{head}.{helpers.b64(helpers.json.dumps(tampered_claims).encode())}.{signature}"
    other = add_user(server, "other@example.com")
    try:
        assert_rejected(
            server,
            {
                "alg none": bearer(forge(header_for(key, alg="none"), claims, None)),
                "alg None with a signature": bearer(
                    forge(header_for(key, alg="None"), claims, secret)
                ),
                "HS384": bearer(
                    forge(header_for(key, alg="HS384"), claims, secret, hashlib.sha384)
                ),
                "HS512": bearer(
                    forge(header_for(key, alg="HS512"), claims, secret, hashlib.sha512)
                ),
                "HS512 header, HS256 signature": bearer(
                    forge(header_for(key, alg="HS512"), claims, secret)
                ),
                "RS256 header, HMAC signature": bearer(
                    forge(header_for(key, alg="RS256"), claims, secret)
                ),
                "wrong secret": bearer(forge(header_for(key), claims, "not-the-secret")),
                "another user's secret": bearer(forge(header_for(key), claims, other.api_secret)),
                "no signature": bearer(f"{head}.{payload}."),
                "tampered payload": bearer(tampered),
                "unknown kid": bearer(forge(header_for("f" * 32), claims_for("f" * 32), secret)),
                "no kid": bearer(forge({"alg": "HS256", "typ": "JWT"}, claims, secret)),
                "kid is a number": bearer(forge(header_for(key, kid=12345), claims, secret)),
                "kid differs from sub": bearer(
                    forge(header_for(key), claims_for(other.api_key), secret)
                ),
                "oversized token": bearer(
                    forge(header_for(key), claims_for(key, padding="x" * 5000), secret)
                ),
            },
        )
        with helpers.anonymous(server) as http:
            assert http.get("/api/v1/datasets", headers=bearer(valid)).status_code == 200
            mine = forge(header_for(other.api_key), claims_for(other.api_key), other.api_secret)
            assert http.get("/api/v1/datasets", headers=bearer(mine)).status_code == 200
    finally:
        other.close()


def test_bad_claims_and_lifetimes_are_401(server: ServerProcess) -> None:
    key, secret = server.api_key, server.api_secret
    now = int(time.time())

    def signed(**claims: object) -> dict[str, str]:
        return bearer(forge(header_for(key), claims_for(key, now=now, **claims), secret))

    assert_rejected(
        server,
        {
            "expired": signed(iat=now - 7200, exp=now - 3600),
            "lives longer than the maximum": signed(iat=now, exp=now + DAY + 1),
            "lives a week": signed(iat=now - 60, exp=now + 7 * DAY),
            "no exp": signed(exp=None),
            "no iat": signed(iat=None),
            "no iss": signed(iss=None),
            "no sub": signed(sub=None),
            "wrong iss": signed(iss="someone-else"),
            "iss in a list": signed(iss=["sdk"]),
            "iat in the future": signed(iat=now + 3600, exp=now + 3700),
            "exp as a string": signed(exp=str(now + 600)),
            "iat as a float": signed(iat=now + 0.5),
            "payload not an object": bearer(
                f"{helpers.b64(helpers.json.dumps(header_for(key)).encode())}."
                f"{helpers.b64(b'[1, 2]')}.sig"
            ),
        },
    )
    with helpers.anonymous(server) as http:
        longest = signed(iat=now, exp=now + DAY)
        assert http.get("/api/v1/datasets", headers=longest).status_code == 200
        short = signed(iat=now, exp=now + 5)
        assert http.get("/api/v1/datasets", headers=short).status_code == 200
