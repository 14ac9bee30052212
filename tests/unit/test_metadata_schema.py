"""Custom metadata schemas and values: every type, every way a schema or a value is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.errors import Invalid
from domain.metadata_schema import (
    MAX_FIELDS,
    MAX_LINK_LENGTH,
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_SCHEMA_BYTES,
    MAX_STRING_LENGTH,
    ValueRejected,
    check_value,
    merge_schemas,
    parse_schema,
)

ENUM = {"type": "enum", "options": ["cat", "dog", "bird"]}
MULTI = {"type": "multi_enum", "options": ["red", "green", "blue"]}


def refused(spec: dict[str, Any], value: object, *, text: bool = False) -> str:
    with pytest.raises(ValueRejected) as caught:
        check_value(spec, value, text=text)
    return str(caught.value)


# Schemas.


def test_a_schema_is_returned_in_canonical_form_with_shorthand_types_expanded() -> None:
    schema = parse_schema(
        {
            "note": "string",
            "score": {"type": "float"},
            "animal": ENUM,
            "colors": MULTI,
            "taken": "datetime",
            "page": {"type": "link"},
        }
    )
    assert schema == {
        "note": {"type": "string"},
        "score": {"type": "float"},
        "animal": ENUM,
        "colors": MULTI,
        "taken": {"type": "datetime"},
        "page": {"type": "link"},
    }


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([], "JSON object"),
        ({"1abc": "string"}, "must start with a letter"),
        ({"a-b": "string"}, "must start with a letter"),
        ({"x" * 65: "string"}, "must start with a letter"),
        ({"": "string"}, "must start with a letter"),
        ({"media_id": "string"}, "reserved"),
        ({"file_name": "string"}, "reserved"),
        ({"a": "integer"}, "the types are"),
        ({"a": {"kind": "string"}}, "the types are"),
        ({"a": 5}, "must be an object"),
        ({"a": {"type": "string", "options": ["x"]}}, "unknown key 'options'"),
        ({"a": {"type": "enum", "options": ["x"], "default": "x"}}, "unknown key 'default'"),
        ({"a": "enum"}, "non-empty list of options"),
        ({"a": {"type": "enum", "options": []}}, "non-empty list of options"),
        ({"a": {"type": "enum", "options": "x,y"}}, "non-empty list of options"),
        ({"a": {"type": "enum", "options": ["x", 3]}}, "must be text"),
        ({"a": {"type": "enum", "options": [""]}}, "must be text"),
        ({"a": {"type": "enum", "options": ["x" * (MAX_OPTION_LENGTH + 1)]}}, "must be text"),
        ({"a": {"type": "enum", "options": [" x"]}}, "surrounding spaces"),
        ({"a": {"type": "enum", "options": ["x\ny"]}}, "control characters"),
        ({"a": {"type": "enum", "options": ["x", "x"]}}, "repeat"),
        ({"a": {"type": "multi_enum", "options": ["x;y"]}}, "separates options"),
        (
            {"a": {"type": "enum", "options": [f"o{i}" for i in range(MAX_OPTIONS + 1)]}},
            f"at most {MAX_OPTIONS}",
        ),
        ({f"f{i}": "string" for i in range(MAX_FIELDS + 1)}, f"at most {MAX_FIELDS}"),
    ],
)
def test_a_bad_schema_is_invalid_with_a_detail_naming_the_problem(raw: object, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_schema(raw)
    assert words in caught.value.detail


def test_an_enum_option_may_hold_a_semicolon_but_a_multi_enum_option_may_not() -> None:
    assert parse_schema({"a": {"type": "enum", "options": ["x;y"]}})["a"]["options"] == ["x;y"]


def test_a_schema_larger_than_the_byte_bound_is_invalid() -> None:
    options = [f"{i:03d}" + "o" * (MAX_OPTION_LENGTH - 3) for i in range(MAX_OPTIONS)]
    raw = {f"f{i}": {"type": "enum", "options": options} for i in range(3)}
    assert len(json.dumps(raw)) > MAX_SCHEMA_BYTES
    with pytest.raises(Invalid, match="bytes as JSON"):
        parse_schema(raw)


def test_merging_adds_new_fields_and_keeps_the_old_ones() -> None:
    merged = merge_schemas({"a": {"type": "string"}}, {"b": {"type": "float"}})
    assert merged == {"a": {"type": "string"}, "b": {"type": "float"}}


def test_merging_an_enum_again_adds_its_new_options_after_the_old_ones() -> None:
    merged = merge_schemas(
        {"animal": ENUM}, {"animal": {"type": "enum", "options": ["dog", "fish"]}}
    )
    assert merged["animal"]["options"] == ["cat", "dog", "bird", "fish"]


def test_merging_does_not_change_the_current_schema() -> None:
    current = {"animal": {"type": "enum", "options": ["cat"]}}
    merge_schemas(current, {"animal": {"type": "enum", "options": ["dog"]}})
    assert current == {"animal": {"type": "enum", "options": ["cat"]}}


def test_a_field_may_not_change_its_type() -> None:
    with pytest.raises(Invalid, match="already has type string; it cannot change to float"):
        merge_schemas({"a": {"type": "string"}}, {"a": {"type": "float"}})


def test_merged_options_are_bounded() -> None:
    half = MAX_OPTIONS // 2 + 1
    with pytest.raises(Invalid, match="would have"):
        merge_schemas(
            {"a": {"type": "enum", "options": [f"x{i}" for i in range(half)]}},
            {"a": {"type": "enum", "options": [f"y{i}" for i in range(half)]}},
        )


def test_merged_field_count_is_bounded() -> None:
    current = {f"a{i}": {"type": "string"} for i in range(MAX_FIELDS)}
    with pytest.raises(Invalid, match="would have 101 fields"):
        merge_schemas(current, {"b": {"type": "string"}})


# Values: string.


def test_a_string_is_stored_as_given_from_json_and_csv() -> None:
    assert check_value({"type": "string"}, " a b ", text=False) == " a b "
    assert check_value({"type": "string"}, " a b ", text=True) == " a b "


@pytest.mark.parametrize("value", [12, 1.5, True, None, ["a"], {"a": 1}])
def test_a_string_field_refuses_json_values_that_are_not_text(value: object) -> None:
    assert "expected text" in refused({"type": "string"}, value)


def test_a_string_field_refuses_over_long_text_and_nul() -> None:
    assert check_value({"type": "string"}, "x" * MAX_STRING_LENGTH, text=False)
    assert "longer than" in refused({"type": "string"}, "x" * (MAX_STRING_LENGTH + 1))
    assert "NUL" in refused({"type": "string"}, "a\x00b")


# Values: float.


@pytest.mark.parametrize(("value", "stored"), [(1.5, 1.5), (3, 3.0), (-2e-3, -0.002), (0, 0.0)])
def test_a_float_from_json_must_be_a_number_and_is_stored_as_a_float(
    value: object, stored: float
) -> None:
    result = check_value({"type": "float"}, value, text=False)
    assert (result, type(result)) == (stored, float)


@pytest.mark.parametrize(
    "value", ["1.5", True, False, None, [1.0], float("nan"), float("inf"), 10**400]
)
def test_a_float_from_json_refuses_text_booleans_and_non_finite_numbers(value: object) -> None:
    refused({"type": "float"}, value)


@pytest.mark.parametrize(
    ("cell", "stored"), [("1.5", 1.5), (" 2 ", 2.0), ("-3e2", -300.0), (".5", 0.5), ("+7.", 7.0)]
)
def test_a_float_from_csv_is_read_from_a_decimal_literal(cell: str, stored: float) -> None:
    assert check_value({"type": "float"}, cell, text=True) == stored


@pytest.mark.parametrize(
    "cell", ["12abc", "nan", "inf", "Infinity", "1_000", "1,5", "0x10", "", "1e999", "--1"]
)
def test_a_float_from_csv_refuses_anything_else(cell: str) -> None:
    refused({"type": "float"}, cell, text=True)


# Values: datetime.


def test_a_datetime_with_a_zone_is_stored_in_utc_with_fixed_width() -> None:
    offset = timezone(timedelta(hours=2))
    expected = datetime(2026, 3, 1, 10, 30, tzinfo=offset).astimezone(UTC)
    stored = check_value({"type": "datetime"}, "2026-03-01T10:30:00+02:00", text=False)
    assert stored == expected.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert stored == "2026-03-01T08:30:00.000000Z"
    assert (
        check_value({"type": "datetime"}, " 2026-03-01T08:30:00.5Z ", text=True)
        == "2026-03-01T08:30:00.500000Z"
    )


def test_stored_datetimes_sort_as_the_times_they_are() -> None:
    inputs = ["2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00Z", "2025-12-31T23:00:00-02:00"]
    stored = [check_value({"type": "datetime"}, v, text=False) for v in inputs]
    moments = [datetime.fromisoformat(v) for v in inputs]
    assert sorted(stored) == [stored[i] for i in sorted(range(3), key=lambda i: moments[i])]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-03-01T10:30:00", "no time zone"),
        ("2026-03-01", "no time zone"),
        ("yesterday", "not an ISO 8601 time"),
        ("2026-13-01T00:00:00Z", "not an ISO 8601 time"),
        ("2026-03-01T10:30:00Z" + " " * 60, "too long"),
        (1767225600, "as text"),
        (None, "as text"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
    ],
)
def test_a_datetime_field_refuses_values_that_are_not_zoned_iso_times(
    value: object, words: str
) -> None:
    assert words in refused({"type": "datetime"}, value)


# Values: enum and multi_enum.


def test_an_enum_takes_exactly_one_of_its_options() -> None:
    assert check_value(ENUM, "dog", text=False) == "dog"
    assert check_value(ENUM, " dog ", text=True) == "dog"
    assert "not one of the options ('cat', 'dog', 'bird')" in refused(ENUM, "maybe")
    assert "not one of the options" in refused(ENUM, "Dog")
    assert "not one of the options" in refused(ENUM, " dog", text=False)
    assert "as text" in refused(ENUM, 1)
    assert "as text" in refused(ENUM, ["dog"])


def test_a_multi_enum_is_stored_without_duplicates_in_the_schemas_option_order() -> None:
    assert check_value(MULTI, ["blue", "red", "blue"], text=False) == ["red", "blue"]
    assert check_value(MULTI, [], text=False) == []
    assert check_value(MULTI, "blue; red", text=True) == ["red", "blue"]
    assert check_value(MULTI, "green", text=True) == ["green"]


def test_a_multi_enum_refuses_unknown_options_empty_parts_and_non_lists() -> None:
    assert "'pink' is not one of the options" in refused(MULTI, ["red", "pink"])
    assert "empty option" in refused(MULTI, "red;;blue", text=True)
    assert "empty option" in refused(MULTI, "red;", text=True)
    assert "list of options" in refused(MULTI, "red", text=False)
    assert "as text" in refused(MULTI, ["red", 1])


# Values: link.


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "http://example.com:8080/a?b=c#d",
        "HTTPS://EXAMPLE.COM/x",
        "https://[::1]/",
    ],
)
def test_a_link_takes_http_and_https_urls_with_a_host(url: str) -> None:
    assert check_value({"type": "link"}, url, text=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "javascript:alert(1)",
        "example.com",
        "https://",
        "http:///path",
        "https://exa mple.com",
        "https://example.com:99999/",
        "https://[::1/",
        "",
        "https://example.com/\x07",
    ],
)
def test_a_link_refuses_other_schemes_missing_hosts_and_malformed_urls(url: str) -> None:
    refused({"type": "link"}, url)


def test_a_link_is_bounded_in_length_and_must_be_text() -> None:
    base = "https://example.com/"
    assert check_value({"type": "link"}, base + "a" * (MAX_LINK_LENGTH - len(base)), text=False)
    assert "longer than" in refused({"type": "link"}, base + "a" * MAX_LINK_LENGTH)
    assert "as text" in refused({"type": "link"}, 42)
