"""Reading custom metadata rows from a staged CSV or JSON file, within bounds.

- CSV: UTF-8 (a leading byte order mark is ignored), comma-separated, quoted with ``"`` as in
  RFC 4180 (a quoted cell may hold commas, quotes and line breaks), with a header row naming
  the columns (names are stripped of surrounding spaces). Every cell is text.
- JSON: a UTF-8 array of objects, one per row; values keep their JSON types.

Rows are numbered from 1 in data order: the CSV header is not counted, blank CSV lines are
counted (so a row number is the line number minus one unless a quoted cell spans lines) but
yield nothing. A file that cannot be read at all raises ``RowsUnreadable``; a row that
cannot be read as a row (wrong number of cells, not an object) comes with a ``problem``
and the rest of the file still counts.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from domain.metadata_schema import MAX_FIELDS

FORMATS = ("csv", "json")
MAX_FILE_BYTES = 256 << 20
MAX_ROWS = 1_000_000
MAX_COLUMNS = MAX_FIELDS + 2  # the fields, and the media_id and file_name columns


class RowsUnreadable(ValueError):
    """The file is not a CSV or JSON file of rows within the bounds; the message says why."""


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row
    values: dict[str, Any]
    text: bool  # True for CSV cells (every value is a string)
    problem: str | None = None


def check_file(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RowsUnreadable(f"The file is {size} bytes; at most {MAX_FILE_BYTES} are allowed.")


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file, checked: present, not blank, unique, bounded."""
    check_file(path)
    with path.open("rb") as raw:
        reader = csv.reader(_lines(raw), strict=True)
        try:
            first = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            raise RowsUnreadable(f"The CSV header cannot be read: {_why(error)}.") from None
    if not first:
        raise RowsUnreadable("The CSV file is empty; its first line must name the columns.")
    columns = [name.strip() for name in first]
    if len(columns) > MAX_COLUMNS:
        raise RowsUnreadable(
            f"The CSV header has {len(columns)} columns; at most {MAX_COLUMNS} are allowed."
        )
    if any(not name for name in columns):
        raise RowsUnreadable("The CSV header has a blank column name.")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise RowsUnreadable(f"The CSV header names the column {repeated[0]!r} twice.")
    return columns


def json_rows(path: Path) -> list[Any]:
    """The elements of a JSON file that must hold an array (of objects, checked per row)."""
    check_file(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise RowsUnreadable("The JSON file is not UTF-8 text.") from None
    except RecursionError:
        raise RowsUnreadable("The JSON file nests too deeply.") from None
    except ValueError as error:
        raise RowsUnreadable(f"The file is not valid JSON: {error}.") from None
    if not isinstance(data, list):
        raise RowsUnreadable("The JSON file must hold an array of row objects.")
    if len(data) > MAX_ROWS:
        raise RowsUnreadable(f"The file has {len(data)} rows; at most {MAX_ROWS} are allowed.")
    return data


class RowReader:
    """Iterates a file's rows once; ``fraction`` tells how far it got (for progress)."""

    def __init__(self, path: Path, fmt: str) -> None:
        if fmt not in FORMATS:
            raise RowsUnreadable(f"The format {fmt!r} is not one of {', '.join(FORMATS)}.")
        self.path = path
        self.fmt = fmt
        self.fraction = 0.0

    def columns(self) -> list[str] | None:
        """The CSV header (None for JSON, whose rows name their own fields)."""
        return csv_header(self.path) if self.fmt == "csv" else None

    def rows(self) -> Iterator[Row]:
        return self._csv_rows() if self.fmt == "csv" else self._json_rows()

    def _json_rows(self) -> Iterator[Row]:
        data = json_rows(self.path)
        for number, item in enumerate(data, 1):
            self.fraction = number / len(data)
            if isinstance(item, dict):
                yield Row(number, item, text=False)
            else:
                yield Row(number, {}, text=False, problem="the row is not a JSON object")

    def _csv_rows(self) -> Iterator[Row]:
        columns = csv_header(self.path)
        size = max(self.path.stat().st_size, 1)
        with self.path.open("rb") as raw:
            reader = csv.reader(_lines(raw), strict=True)
            number = 0
            try:
                next(reader)
                for cells in reader:
                    number += 1
                    if number > MAX_ROWS:
                        raise RowsUnreadable(f"The file has more than {MAX_ROWS} rows.")
                    self.fraction = min(raw.tell() / size, 1.0)
                    if not cells:
                        continue
                    if len(cells) != len(columns):
                        yield Row(
                            number,
                            {},
                            text=True,
                            problem=f"the row has {len(cells)} "
                            f"cells; the header has {len(columns)}",
                        )
                        continue
                    yield Row(number, dict(zip(columns, cells, strict=True)), text=True)
            except (csv.Error, UnicodeDecodeError) as error:
                raise RowsUnreadable(
                    f"The CSV file cannot be read at data row {number + 1}: {_why(error)}."
                ) from None
        self.fraction = 1.0


def _lines(raw: BinaryIO) -> Iterator[str]:
    """The file's lines as text, decoded one by one (so bad bytes are found on their line,
    not a buffer earlier), line ends kept as the csv module wants them."""
    for number, line in enumerate(raw):
        yield (line[3:] if number == 0 and line.startswith(codecs.BOM_UTF8) else line).decode(
            "utf-8"
        )


def _why(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(error)
