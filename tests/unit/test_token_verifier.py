"""The token verifier keeps the credentials of the keys used most recently, bounded in bytes."""

from __future__ import annotations

from adapters.http.auth import Credentials, TokenVerifier, make_token


def secret(api_key: str) -> str:
    return f"{api_key}-{'s' * 40}"


def test_credentials_are_kept_for_the_most_recent_keys_within_the_byte_bound() -> None:
    looked_up: list[str] = []

    def lookup(api_key: str) -> Credentials:
        looked_up.append(api_key)
        return Credentials(f"user-{api_key}", f"{api_key}@example.com", secret(api_key), False)

    one_entry = 320 + len("key-0") + len("key-0@example.com") + len(secret("key-0"))
    verifier = TokenVerifier(lookup, 3600, cache_bytes=3 * one_entry)
    keys = [f"key-{n}" for n in range(10)]

    for key in keys:
        assert verifier.verify(make_token(key, secret(key))).user_id == f"user-{key}"
        assert verifier.cached_bytes <= 3 * one_entry
    assert looked_up == keys

    looked_up.clear()
    for key in ["key-9", "key-8", "key-7", "key-9"]:  # the three kept
        verifier.verify(make_token(key, secret(key)))
    assert looked_up == []

    verifier.verify(make_token("key-0", secret("key-0")))  # gone: looked up again, kept again
    verifier.verify(make_token("key-0", secret("key-0")))
    assert looked_up == ["key-0"]
    verifier.verify(make_token("key-8", secret("key-8")))  # key-8 was least recently used
    assert looked_up == ["key-0", "key-8"]
    assert verifier.cached_bytes == 3 * one_entry
