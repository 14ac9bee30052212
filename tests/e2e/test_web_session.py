"""The web UI's sign-in session (cookie + CSRF) and its files, against a real server."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from urllib.parse import urlparse

import httpx
import jwt
import pytest

from adapters.http.routes.web import CSP, WEB_DIR
from tests.conftest import BACKENDS
from tests.e2e import helpers
from tests.e2e.helpers import ADMIN_EMAIL, problem
from tests.support.client import SnapsetClient
from tests.support.server import ServerProcess, start_server

no_server_errors = helpers.no_server_errors
SESSION, CSRF = "snapset_session", "snapset_csrf"
EIGHT_HOURS = 8 * 3600


@pytest.fixture
def cookie_client(server: ServerProcess) -> Iterator[httpx.Client]:
    """A cookie-keeping client with no Authorization header, like the page's fetch()."""
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


def sign_in(cookie_client: httpx.Client, server: ServerProcess) -> str:
    """Sign in as the first admin; the CSRF token."""
    response = cookie_client.post(
        "/ui/session", json={"api_key": server.api_key, "api_secret": server.api_secret}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def set_cookies(response: httpx.Response) -> dict[str, Morsel[str]]:
    cookies: dict[str, Morsel[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        cookies.update(jar)
    return cookies


def test_sign_in_sets_an_httponly_strict_session_cookie_and_returns_the_csrf_token(
    server: ServerProcess,
    cookie_client: httpx.Client,
) -> None:
    response = cookie_client.post(
        "/ui/session", json={"api_key": server.api_key, "api_secret": server.api_secret}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"email", "is_admin", "csrf_token"}
    assert body["email"] == ADMIN_EMAIL
    assert body["is_admin"] is True
    assert len(body["csrf_token"]) >= 32
    cookies = set_cookies(response)
    session, csrf = cookies[SESSION], cookies[CSRF]
    assert session["httponly"] is True
    assert not csrf["httponly"]
    for cookie in (session, csrf):
        assert cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/"
        assert not cookie["secure"]  # plain http here; https adds Secure
        assert abs(int(cookie["max-age"]) - EIGHT_HOURS) <= 5
    assert csrf.value == body["csrf_token"]
    header = jwt.get_unverified_header(session.value)
    claims = jwt.decode(session.value, server.api_secret, algorithms=["HS256"], issuer="sdk")
    assert header["kid"] == claims["sub"] == server.api_key
    assert claims["exp"] - claims["iat"] == EIGHT_HOURS


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_session_lives_no_longer_than_the_servers_token_limit(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else ""
    limited = start_server(
        tmp_path / "data",
        database_url=url,
        extra_args=("--embedded",) if url else (),
        extra_env={"SNAPSET_MAX_TOKEN_TTL": "1800"},
    )
    try:
        with httpx.Client(base_url=limited.base_url) as fresh:
            sign_in(fresh, limited)
            token = fresh.cookies[SESSION]
            answered = fresh.get("/api/v1/datasets")
    finally:
        limited.stop()

    claims = jwt.decode(token, limited.api_secret, algorithms=["HS256"], issuer="sdk")
    assert claims["exp"] - claims["iat"] == 1800
    assert answered.status_code == 200


def test_each_sign_in_gets_its_own_csrf_token(server: ServerProcess) -> None:
    tokens = set()
    for _ in range(2):
        with httpx.Client(base_url=server.base_url) as fresh:
            tokens.add(sign_in(fresh, server))
    assert len(tokens) == 2


def test_get_session_names_the_user_and_repeats_the_csrf_token(
    server: ServerProcess,
    cookie_client: httpx.Client,
) -> None:
    problem(cookie_client.get("/ui/session"), 401)
    csrf = sign_in(cookie_client, server)

    response = cookie_client.get("/ui/session")

    assert response.status_code == 200
    assert response.json() == {"email": ADMIN_EMAIL, "is_admin": True, "csrf_token": csrf}
    assert response.headers["cache-control"] == "no-store"


def test_the_session_cookie_authenticates_api_reads(
    server: ServerProcess,
    cookie_client: httpx.Client,
    client: SnapsetClient,
) -> None:
    dataset_id = client.create_dataset("seen through the cookie")
    problem(cookie_client.get("/api/v1/datasets"), 401)
    sign_in(cookie_client, server)

    response = cookie_client.get("/api/v1/datasets")

    assert response.status_code == 200, response.text
    assert [d["id"] for d in response.json()["datasets"]] == [dataset_id]


def test_a_cookie_authenticated_write_needs_the_matching_csrf_header(
    server: ServerProcess,
    cookie_client: httpx.Client,
    client: SnapsetClient,
    tmp_path: Path,
) -> None:
    dataset_id = helpers.ready_dataset(client, tmp_path / "media", "guarded")
    before = helpers.snapshot_ids(client, dataset_id)
    csrf = sign_in(cookie_client, server)
    path = f"/api/v1/dataset/{dataset_id}/snapshot"

    missing = problem(cookie_client.post(path, json={"name": "no header"}), 403)
    wrong = problem(
        cookie_client.post(
            path, json={"name": "wrong"}, headers={"X-CSRF-Token": csrf[:-2] + "xx"}
        ),
        403,
    )
    assert "X-CSRF-Token" in missing
    assert "X-CSRF-Token" in wrong
    assert helpers.snapshot_ids(client, dataset_id) == before

    response = cookie_client.post(
        path, json={"name": "with header"}, headers={"X-CSRF-Token": csrf}
    )

    assert response.status_code == 200, response.text
    assert response.json()["snapshot_name"] == "with header"
    assert response.json()["created_by"] == ADMIN_EMAIL
    assert helpers.snapshot_ids(client, dataset_id) == [response.json()["snapshot_id"], *before]


def test_a_csrf_cookie_planted_by_someone_else_does_not_pass(
    server: ServerProcess,
    cookie_client: httpx.Client,
    client: SnapsetClient,
) -> None:
    dataset_id = client.create_dataset("planted")
    sign_in(cookie_client, server)
    session = cookie_client.cookies[SESSION]
    planted = "attacker-chosen-value"
    headers = {"Cookie": f"{SESSION}={session}; {CSRF}={planted}", "X-CSRF-Token": planted}

    with httpx.Client(base_url=server.base_url, headers=headers) as forged:
        detail = problem(
            forged.patch(f"/api/v1/dataset/{dataset_id}/snapshot/x", json={"name": "n"}), 403
        )

    assert "CSRF" in detail


def test_bearer_requests_ignore_the_cookies(
    server: ServerProcess,
    client: SnapsetClient,
) -> None:
    with httpx.Client(base_url=server.base_url) as signed_in:
        sign_in(signed_in, server)
        session = signed_in.cookies[SESSION]
    junk = {"Cookie": f"{SESSION}=not-a-jwt; {CSRF}=x"}
    dataset_id = client.create_dataset("bearer")

    answered = client.http.get("/api/v1/datasets", headers=junk)
    created = client.http.post(
        "/api/v1/dataset", json={"dataset_name": "no csrf needed"}, headers=junk
    )
    bad_bearer = httpx.get(
        f"{server.base_url}/api/v1/datasets",
        headers={"Authorization": "Bearer nonsense", "Cookie": f"{SESSION}={session}"},
    )

    assert answered.status_code == 200
    assert dataset_id in [d["id"] for d in answered.json()["datasets"]]
    assert created.status_code == 200, created.text
    problem(bad_bearer, 401)


def test_the_session_token_is_a_bearer_token_too(
    server: ServerProcess,
    cookie_client: httpx.Client,
) -> None:
    sign_in(cookie_client, server)
    token = cookie_client.cookies[SESSION]

    response = httpx.get(f"{server.base_url}/api/v1/datasets", headers=helpers.bearer(token))

    assert response.status_code == 200


def test_unknown_key_and_wrong_secret_get_the_same_401(
    server: ServerProcess,
    cookie_client: httpx.Client,
) -> None:
    unknown = cookie_client.post(
        "/ui/session", json={"api_key": "0" * 32, "api_secret": server.api_secret}
    )
    wrong = cookie_client.post(
        "/ui/session", json={"api_key": server.api_key, "api_secret": server.api_secret + "x"}
    )

    assert problem(unknown, 401) == problem(wrong, 401)
    assert "set-cookie" not in unknown.headers
    assert "set-cookie" not in wrong.headers
    problem(cookie_client.post("/ui/session", json={"api_key": server.api_key}), 422)


def test_a_session_cookie_that_is_not_valid_asks_to_sign_in_again(
    server: ServerProcess,
) -> None:
    expired = helpers.forge(
        helpers.header_for(server.api_key),
        helpers.claims_for(server.api_key, ttl=60, now=1_000_000),
        server.api_secret,
    )
    for token in ("garbage", expired):
        with httpx.Client(
            base_url=server.base_url, headers={"Cookie": f"{SESSION}={token}"}
        ) as stale:
            assert "sign in again" in problem(stale.get("/api/v1/datasets"), 401)
            assert "sign in again" in problem(stale.get("/ui/session"), 401)


def test_sign_out_clears_both_cookies(server: ServerProcess, cookie_client: httpx.Client) -> None:
    sign_in(cookie_client, server)

    response = cookie_client.delete("/ui/session")

    assert response.status_code == 204
    cleared = set_cookies(response)
    assert set(cleared) == {SESSION, CSRF}
    assert all(c["max-age"] == "0" and c.value in ("", '""') for c in cleared.values())
    assert SESSION not in cookie_client.cookies
    problem(cookie_client.get("/ui/session"), 401)
    problem(cookie_client.get("/api/v1/datasets"), 401)


@pytest.mark.parametrize("path", ["/", "/ui"])
def test_the_page_is_index_html_with_a_strict_content_security_policy(
    server: ServerProcess,
    path: str,
) -> None:
    response = httpx.get(f"{server.base_url}{path}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == (WEB_DIR / "index.html").read_bytes()
    assert response.headers["content-security-policy"] == CSP
    assert "script-src 'self';" in CSP
    assert "'unsafe-inline'" not in CSP
    assert response.headers["cache-control"] == "no-cache"


def test_static_files_are_served_from_the_web_folder(server: ServerProcess) -> None:
    files = sorted(p for p in (WEB_DIR / "static").rglob("*") if p.is_file())
    assert files, "adapters/web/static/ has no files"

    for file in files:
        relative = file.relative_to(WEB_DIR / "static").as_posix()
        response = httpx.get(f"{server.base_url}/ui/static/{relative}")
        assert response.status_code == 200, relative
        assert response.content == file.read_bytes()
        assert response.headers["cache-control"] == "no-cache"
    problem(httpx.get(f"{server.base_url}/ui/static/no-such-file.js"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/../../pyproject.toml",
        "/ui/static/../../../pyproject.toml",
        "/ui/static/%2e%2e/%2e%2e/pyproject.toml",
        "/ui/static/..%2f..%2f..%2fpyproject.toml",
        "/ui/static//etc/passwd",
    ],
)
def test_static_paths_cannot_leave_the_web_folder(server: ServerProcess, path: str) -> None:
    """Sent byte for byte (http.client does not normalise ``..`` as httpx would)."""
    url = urlparse(server.base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 404
    assert b"[project]" not in body
    assert b"root:" not in body
