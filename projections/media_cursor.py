"""Keyset cursors for media searches: where the next page starts, whatever the offset.

A page asked by number costs more the further it is (the pages before it are read and
skipped). A cursor names the last item of a page by its place in the sort order, so the
next page starts right after it at the cost of a first page. Clients get it as an opaque
string (``next_cursor``) and send it back unchanged; any other string is a clear 422.

The order is the key (empty values last, in either direction), then the file name, then the
media id (the key itself when it is one of those two).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from domain.errors import Invalid

_VERSION = 1
NUMERIC_KEYS = frozenset({"size", "width", "height"})
TEXT_KEYS = frozenset({"kind", "cluster_id"})
NULLABLE_KEYS = NUMERIC_KEYS | TEXT_KEYS
MAX_CURSOR = 2000


@dataclass(frozen=True)
class SearchCursor:
    """The last item of a page: its sort key value (``empty`` when it has none), its file
    name and media id, and the order it was listed in."""

    key: str
    descending: bool
    empty: bool
    value: int | str | None
    file_name: str
    media_id: str

    def encode(self) -> str:
        fields = [
            _VERSION,
            self.key,
            self.descending,
            self.empty,
            self.value,
            self.file_name,
            self.media_id,
        ]
        text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    @classmethod
    def of_row(cls, key: str, descending: bool, row: dict[str, Any]) -> SearchCursor:
        value = row["sort_value"] if key in NULLABLE_KEYS else None
        return cls(
            key, descending, key in NULLABLE_KEYS and value is None, value,
            str(row["file_name"]), str(row["media_id"]),
        )  # fmt: skip

    @classmethod
    def decode(cls, text: str, key: str, descending: bool) -> SearchCursor:
        """The cursor ``text`` spells, if it continues a search in this order (else Invalid)."""
        fields = _fields(text)
        _, their_key, their_descending, empty, value, file_name, media_id = fields
        if (their_key, their_descending) != (key, descending):
            direction = "desc" if their_descending else "asc"
            raise Invalid(
                f"This cursor continues a search sorted by {their_key} {direction}: ask with "
                f"sort_by={their_key}&sort_order={direction}, or without the cursor."
            )
        if not _fits(key, empty, value) or not (
            isinstance(file_name, str) and isinstance(media_id, str)
        ):
            raise _unreadable()
        return cls(key, descending, empty, value, file_name, media_id)


def _fields(text: str) -> list[Any]:
    if len(text) > MAX_CURSOR:
        raise _unreadable()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fields = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _unreadable() from None
    if not (
        isinstance(fields, list)
        and len(fields) == 7
        and fields[0] == _VERSION
        and isinstance(fields[1], str)
        and isinstance(fields[2], bool)
        and isinstance(fields[3], bool)
    ):
        raise _unreadable()
    return fields


def _fits(key: str, empty: bool, value: Any) -> bool:
    if key not in NULLABLE_KEYS:
        return not empty and value is None
    if empty:
        return value is None
    if key in NUMERIC_KEYS:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _unreadable() -> Invalid:
    return Invalid(
        "The cursor is not one this service gave out: send back a next_cursor unchanged, "
        "or ask without a cursor."
    )
