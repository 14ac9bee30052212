"""The read models' names: each view's tables on PostgreSQL are the ones its prefix begins."""

from __future__ import annotations

from adapters.read_models import VIEW_NAMES


def test_no_view_name_is_another_followed_by_an_underscore() -> None:
    # A view's store drops every table whose name starts with snapset_<name>_ when its DDL
    # changes (adapters/views/postgres_store.py): "media" would drop "media_index"'s tables.
    clashes = [(a, b) for a in VIEW_NAMES for b in VIEW_NAMES if b.startswith(f"{a}_")]
    assert clashes == []
