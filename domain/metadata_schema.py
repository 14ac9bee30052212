"""Custom metadata fields: the schema a dataset declares, and checking values against it.

A schema maps field names to specs, ``{"type": T}`` or, for the enumerated types,
``{"type": T, "options": [...]}``. The types:

- ``string``: text up to ``MAX_STRING_LENGTH`` characters.
- ``float``: a finite number, stored as a float. JSON must give a number (``"1.5"`` is
  refused); CSV cells are text, so there a decimal literal such as ``1.5`` or ``-2e3`` is
  read (``nan``, ``inf``, ``1_000`` and ``12abc`` are refused).
- ``datetime``: an ISO 8601 time *with* a zone (``Z`` or ``+02:00``), stored in UTC as
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (fixed width, so stored values sort as times). A time
  without a zone is refused rather than guessed.
- ``enum``: one of the schema's options (exact, case-sensitive match).
- ``multi_enum``: a list of options, stored without duplicates in the schema's option
  order. CSV cells separate options with ``;``, so multi_enum options may not contain ``;``.
- ``link``: an absolute ``http`` or ``https`` URL with a host, up to ``MAX_LINK_LENGTH``.

A value that does not fit is refused (``ValueRejected``), never coerced: a number where
text is expected, ``"maybe"`` for an enum, ``"12abc"`` for a float. Pure logic, no I/O.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from domain.errors import Invalid

Spec = dict[str, Any]
Schema = dict[str, Spec]

FIELD_TYPES = ("string", "float", "datetime", "enum", "multi_enum", "link")
ENUM_TYPES = ("enum", "multi_enum")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
RESERVED_NAMES = frozenset({"media_id", "file_name"})  # they identify the row's item
MAX_FIELDS = 100
MAX_OPTIONS = 256
MAX_OPTION_LENGTH = 100
MAX_STRING_LENGTH = 4096
MAX_LINK_LENGTH = 2048
MAX_SCHEMA_BYTES = 64 * 1024  # the merged schema travels in the completion event
MULTI_SEPARATOR = ";"

_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_TIME_LENGTH = 64


class ValueRejected(ValueError):
    """A value that does not fit its field; the row that holds it is not applied."""


# Schemas.


def parse_schema(raw: object) -> Schema:
    """The canonical form of a schema given by a user, or ``Invalid`` naming the problem.

    A spec may be written as the bare type name (``"float"``) for types without options.
    """
    if not isinstance(raw, dict):
        raise Invalid("The schema must be a JSON object mapping field names to field specs.")
    if len(raw) > MAX_FIELDS:
        raise Invalid(f"The schema has {len(raw)} fields; at most {MAX_FIELDS} are allowed.")
    schema: Schema = {}
    for name, spec in raw.items():
        _check_name(name)
        schema[name] = _parse_spec(name, spec)
    _check_size(schema)
    return schema


def merge_schemas(current: Schema, new: Schema) -> Schema:
    """``current`` extended by ``new``: new fields are added, and an enum's options grow.

    A field may not change its type (``Invalid``): values already stored were checked
    against the old type.
    """
    merged = {name: dict(spec) for name, spec in current.items()}
    for name, spec in new.items():
        old = merged.get(name)
        if old is None:
            merged[name] = dict(spec)
            continue
        if old["type"] != spec["type"]:
            raise Invalid(
                f"The field {name!r} already has type {old['type']}; it cannot "
                f"change to {spec['type']}."
            )
        if spec["type"] in ENUM_TYPES:
            options = list(old["options"])
            options += [o for o in spec["options"] if o not in set(old["options"])]
            if len(options) > MAX_OPTIONS:
                raise Invalid(
                    f"The field {name!r} would have {len(options)} options; at "
                    f"most {MAX_OPTIONS} are allowed."
                )
            merged[name] = {"type": spec["type"], "options": options}
    if len(merged) > MAX_FIELDS:
        raise Invalid(
            f"The dataset's schema would have {len(merged)} fields; at most "
            f"{MAX_FIELDS} are allowed."
        )
    _check_size(merged)
    return merged


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        raise Invalid(
            f"The field name {name!r} must start with a letter or '_' and hold at "
            "most 64 letters, digits and '_'."
        )
    if name in RESERVED_NAMES:
        raise Invalid(f"The field name {name!r} is reserved: it identifies the item of a row.")


def _parse_spec(name: str, spec: object) -> Spec:
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise Invalid(f'The spec of field {name!r} must be an object such as {{"type": "string"}}.')
    kind = spec.get("type")
    if kind not in FIELD_TYPES:
        raise Invalid(
            f"The field {name!r} has type {kind!r}; the types are {', '.join(FIELD_TYPES)}."
        )
    allowed = {"type", "options"} if kind in ENUM_TYPES else {"type"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise Invalid(f"The spec of field {name!r} has an unknown key {unknown[0]!r}.")
    if kind not in ENUM_TYPES:
        return {"type": kind}
    return {"type": kind, "options": _parse_options(name, kind, spec.get("options"))}


def _parse_options(name: str, kind: str, options: object) -> list[str]:
    if not isinstance(options, list) or not options:
        raise Invalid(f"The {kind} field {name!r} needs a non-empty list of options.")
    if len(options) > MAX_OPTIONS:
        raise Invalid(
            f"The field {name!r} has {len(options)} options; at most {MAX_OPTIONS} are allowed."
        )
    for option in options:
        if not isinstance(option, str) or not 1 <= len(option) <= MAX_OPTION_LENGTH:
            raise Invalid(
                f"Each option of field {name!r} must be text of 1 to "
                f"{MAX_OPTION_LENGTH} characters, not {option!r}."
            )
        if option != option.strip() or _CONTROL.search(option):
            raise Invalid(
                f"The option {option!r} of field {name!r} has surrounding spaces "
                "or control characters."
            )
        if kind == "multi_enum" and MULTI_SEPARATOR in option:
            raise Invalid(
                f"The option {option!r} of multi_enum field {name!r} contains "
                f"{MULTI_SEPARATOR!r}, which separates options in CSV cells."
            )
    if len(set(options)) != len(options):
        raise Invalid(f"The options of field {name!r} repeat a value.")
    return list(options)


def _check_size(schema: Schema) -> None:
    size = len(json.dumps(schema))
    if size > MAX_SCHEMA_BYTES:
        raise Invalid(
            f"The schema is {size} bytes as JSON; at most {MAX_SCHEMA_BYTES} are allowed."
        )


# Values.


def check_value(spec: Spec, value: object, *, text: bool) -> Any:
    """The value to store for ``value`` in a field of ``spec``, or ``ValueRejected``.

    ``text`` says the value comes from a CSV cell: then it is a string, surrounding spaces
    are ignored for every type but ``string``, and numbers and lists are read from the text.
    """
    kind = spec["type"]
    if text and kind != "string" and isinstance(value, str):
        value = value.strip()
    if kind == "string":
        return _string(value)
    if kind == "float":
        return _float(value, text=text)
    if kind == "datetime":
        return _datetime(value)
    if kind == "enum":
        return _option(value, spec["options"])
    if kind == "multi_enum":
        return _options(value, spec["options"], text=text)
    if kind == "link":
        return _link(value)
    raise ValueRejected(f"unknown field type {kind!r}")


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueRejected(f"expected text, got {_kind(value)}")
    if len(value) > MAX_STRING_LENGTH:
        raise ValueRejected(f"text is longer than {MAX_STRING_LENGTH} characters")
    if "\x00" in value:
        raise ValueRejected("text contains a NUL character")
    return value


def _float(value: object, *, text: bool) -> float:
    if text and isinstance(value, str):
        if not _DECIMAL.match(value):
            raise ValueRejected(f"{_shown(value)} is not a decimal number")
        number = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise ValueRejected("the number is too large") from None
    else:
        raise ValueRejected(f"expected a number, got {_kind(value)}")
    if not math.isfinite(number):
        raise ValueRejected("the number is not finite")
    return number


def _datetime(value: object) -> str:
    if not isinstance(value, str):
        raise ValueRejected(f"expected an ISO 8601 time as text, got {_kind(value)}")
    if len(value) > _MAX_TIME_LENGTH:
        raise ValueRejected("the time is too long to be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueRejected(f"{_shown(value)} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueRejected(
            f"{_shown(value)} has no time zone; add 'Z' or an offset such as '+02:00'"
        )
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueRejected(f"{_shown(value)} is out of range in UTC") from None
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _option(value: object, options: list[str]) -> str:
    if not isinstance(value, str):
        raise ValueRejected(f"expected one of the options as text, got {_kind(value)}")
    if value not in options:
        raise ValueRejected(f"{_shown(value)} is not one of the options ({_listed(options)})")
    return value


def _options(value: object, options: list[str], *, text: bool) -> list[str]:
    if text and isinstance(value, str):
        values: list[object] = [part.strip() for part in value.split(MULTI_SEPARATOR)]
        if any(part == "" for part in values):
            raise ValueRejected(
                f"{_shown(value)} has an empty option between {MULTI_SEPARATOR!r} separators"
            )
    elif isinstance(value, list):
        values = value
    else:
        raise ValueRejected(f"expected a list of options, got {_kind(value)}")
    chosen = {_option(v, options) for v in values}
    return [option for option in options if option in chosen]


def _link(value: object) -> str:
    if not isinstance(value, str):
        raise ValueRejected(f"expected a URL as text, got {_kind(value)}")
    if len(value) > MAX_LINK_LENGTH:
        raise ValueRejected(f"the URL is longer than {MAX_LINK_LENGTH} characters")
    if any(c.isspace() for c in value) or _CONTROL.search(value):
        raise ValueRejected("the URL contains spaces or control characters")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueRejected(f"{_shown(value)} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueRejected(f"{_shown(value)} is not an http or https URL with a host")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _listed(options: list[str]) -> str:
    shown = ", ".join(repr(o) for o in options[:10])
    return shown + (f", and {len(options) - 10} more" if len(options) > 10 else "")
