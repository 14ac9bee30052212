"""Reading metadata rows from CSV and JSON files: quoting, BOMs, row numbers, and every way a
file is refused (malformed, empty, not UTF-8, too big, too many rows or columns)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from application.operations import metadata_rows
from application.operations.metadata_rows import (
    MAX_COLUMNS,
    Row,
    RowReader,
    RowsUnreadable,
    count_json_rows,
    csv_header,
    json_elements,
)


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def rows(path: Path, fmt: str) -> list[Row]:
    return list(RowReader(path, fmt).rows())


def unreadable(path: Path, fmt: str) -> str:
    with pytest.raises(RowsUnreadable) as caught:
        rows(path, fmt)
    return str(caught.value)


# CSV.


def test_csv_rows_map_header_names_to_text_cells_numbered_from_one(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "media_id,score\nm1,1.5\nm2,2\n")
    assert rows(path, "csv") == [
        Row(1, {"media_id": "m1", "score": "1.5"}, text=True),
        Row(2, {"media_id": "m2", "score": "2"}, text=True),
    ]


def test_csv_quoted_cells_may_hold_commas_quotes_and_line_breaks(tmp_path: Path) -> None:
    values = ["a, b", 'say "hi"', "two\nlines", ""]
    with (tmp_path / "q.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["media_id", "note"])
        writer.writerows([[f"m{i}", v] for i, v in enumerate(values)])
    read = rows(tmp_path / "q.csv", "csv")
    assert [r.values["note"] for r in read] == values
    assert [r.number for r in read] == [1, 2, 3, 4]


def test_a_byte_order_mark_and_crlf_line_ends_are_read_transparently(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.csv", b"\xef\xbb\xbfmedia_id,note\r\nm1,caf\xc3\xa9\r\n")
    assert csv_header(path) == ["media_id", "note"]
    assert rows(path, "csv") == [Row(1, {"media_id": "m1", "note": "café"}, text=True)]


def test_header_names_are_stripped_of_surrounding_spaces(tmp_path: Path) -> None:
    assert csv_header(write(tmp_path / "h.csv", " media_id , score\n")) == ["media_id", "score"]


def test_blank_lines_yield_nothing_but_keep_their_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "b.csv", "media_id\nm1\n\nm3\n")
    assert [(r.number, r.values["media_id"]) for r in rows(path, "csv")] == [(1, "m1"), (3, "m3")]


def test_a_row_with_the_wrong_number_of_cells_is_a_row_problem_not_a_failure(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "c.csv", "media_id,score\nm1\nm2,1,extra\nm3,3\n")
    read = rows(path, "csv")
    assert [(r.number, r.problem) for r in read] == [
        (1, "the row has 1 cells; the header has 2"),
        (2, "the row has 3 cells; the header has 2"),
        (3, None),
    ]


def test_a_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    assert rows(write(tmp_path / "h.csv", "media_id,score\n"), "csv") == []


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"media_id,,score\n", "blank column name"),
        (b"media_id,a,a\n", "'a' twice"),
        (b"media_id,\xff\xfe\n", "not UTF-8"),
        (b'media_id,"unterminated\n', "cannot be read"),
    ],
)
def test_a_bad_csv_header_is_refused(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(RowsUnreadable, match=words):
        csv_header(write(tmp_path / "h.csv", data))


def test_a_header_with_too_many_columns_is_refused(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    with pytest.raises(RowsUnreadable, match="columns"):
        csv_header(write(tmp_path / "wide.csv", header + "\n"))


def test_bad_bytes_or_quoting_after_the_header_fail_the_file_naming_the_row(tmp_path: Path) -> None:
    assert "data row 2" in unreadable(write(tmp_path / "u.csv", b"media_id\nm1\nm\xff2\n"), "csv")
    assert "data row 2" in unreadable(
        write(tmp_path / "q.csv", 'media_id,note\nm1,a\nm2,"x"y\n'), "csv"
    )


def test_a_cell_over_the_csv_field_limit_fails_the_file(tmp_path: Path) -> None:
    huge = "x" * (csv.field_size_limit() + 1)
    assert "field larger than field limit" in unreadable(
        write(tmp_path / "big.csv", f"media_id,note\nm1,{huge}\n"), "csv"
    )


def test_a_csv_with_more_rows_than_the_bound_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metadata_rows, "MAX_ROWS", 3)
    path = write(tmp_path / "many.csv", "media_id\n" + "".join(f"m{i}\n" for i in range(4)))
    assert "more than 3 rows" in unreadable(path, "csv")
    assert len(rows(write(tmp_path / "ok.csv", "media_id\nm1\nm2\nm3\n"), "csv")) == 3


def test_a_large_generated_csv_is_read_row_by_row_with_progress(tmp_path: Path) -> None:
    count = 50_000
    with (tmp_path / "large.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["media_id", "score"])
        writer.writerows([f"m{i}", str(i / 7)] for i in range(count))
    reader = RowReader(tmp_path / "large.csv", "csv")
    fractions: list[float] = []
    last: Row | None = None
    for number, row in enumerate(reader.rows(), 1):
        if number % 10_000 == 0:
            fractions.append(reader.fraction)
        last = row
    assert last is not None
    assert (last.number, last.values) == (
        count,
        {"media_id": f"m{count - 1}", "score": str((count - 1) / 7)},
    )
    assert fractions == sorted(fractions)
    assert 0 < fractions[0] < fractions[-1] <= 1.0
    assert reader.fraction == 1.0


def test_a_file_over_the_byte_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metadata_rows, "MAX_FILE_BYTES", 10)
    path = write(tmp_path / "a.csv", "media_id\nm1\nm2\nm3\n")
    with pytest.raises(RowsUnreadable, match="at most 10"):
        csv_header(path)
    with pytest.raises(RowsUnreadable, match="at most 10"):
        count_json_rows(write(tmp_path / "a.json", "[{}, {}, {}, {}]"))


# JSON.


def test_json_rows_keep_their_json_types(tmp_path: Path) -> None:
    data: list[Any] = [{"media_id": "m1", "score": 1.5, "tags": ["a"], "n": None}]
    path = write(tmp_path / "a.json", json.dumps(data))
    assert rows(path, "json") == [Row(1, data[0], text=False)]


def test_a_json_element_that_is_not_an_object_is_a_row_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", '[{"media_id": "m1"}, 5, ["m3"], {"media_id": "m4"}]')
    assert [(r.number, r.problem) for r in rows(path, "json")] == [
        (1, None),
        (2, "the row is not a JSON object"),
        (3, "the row is not a JSON object"),
        (4, None),
    ]


def test_a_json_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.json", b'\xef\xbb\xbf[{"media_id": "m1"}]')
    assert list(json_elements(path)) == [{"media_id": "m1"}]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not valid JSON"),
        (b'[{"media_id": "m1"},', "not valid JSON"),
        (b'{"media_id": "m1"}', "array of row objects"),
        (b'"rows"', "array of row objects"),
        (b'["\xff"]', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ],
)
def test_a_malformed_json_file_is_refused(tmp_path: Path, data: bytes, words: str) -> None:
    assert words in unreadable(write(tmp_path / "bad.json", data), "json")


def test_a_json_file_with_more_rows_than_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metadata_rows, "MAX_ROWS", 2)
    assert "at most 2" in unreadable(write(tmp_path / "a.json", "[{}, {}, {}]"), "json")


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RowsUnreadable, match="xlsx"):
        RowReader(tmp_path / "a.xlsx", "xlsx")


def test_only_csv_reports_columns(tmp_path: Path) -> None:
    assert RowReader(write(tmp_path / "a.csv", "media_id,x\n"), "csv").columns() == [
        "media_id",
        "x",
    ]
    assert RowReader(write(tmp_path / "a.json", "[]"), "json").columns() is None


def test_json_rows_are_read_across_blocks_as_they_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of 7 characters: elements, numbers, strings and white space all span blocks.
    monkeypatch.setattr(metadata_rows._JsonArray, "_BLOCK", 7)
    data: list[Any] = [
        {"media_id": "m1", "score": 12345.678e-3, "note": 'a "quoted" ünïcode text'},
        {"media_id": "m2", "nested": {"deep": [1, [2, [3]]]}},
        123456789,
        {},
    ]
    path = write(tmp_path / "a.json", " \n[ " + ",\n  ".join(json.dumps(d) for d in data) + " ]\n")
    fractions: list[float] = []
    assert list(json_elements(path, fractions.append)) == data
    assert fractions == sorted(fractions)
    assert 0 < fractions[0] <= fractions[-1] <= 1.0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[]", None),
        (b"  [ ]  ", None),
        (b"[1 2]", "expecting ',' or ']'"),
        (b"[1,]", "not valid JSON"),
        (b"[1] 2", "extra data"),
        (b"[{}", "not valid JSON"),
        (b"   ", "not valid JSON"),
    ],
)
def test_a_json_array_is_checked_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, words: str | None
) -> None:
    monkeypatch.setattr(metadata_rows._JsonArray, "_BLOCK", 2)
    path = write(tmp_path / "a.json", data)
    if words is None:
        assert count_json_rows(path) == 0
    else:
        assert words in unreadable(path, "json")
