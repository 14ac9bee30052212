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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

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


def json_elements(path: Path, progress: Callable[[float], None] | None = None) -> Iterator[Any]:
    """The elements of a JSON file that must hold an array (of objects, checked per row),
    read as they come: memory holds one element and a block of the file, whatever its size.
    A file that is not such an array raises ``RowsUnreadable`` where the reading finds it.
    ``progress`` is told the fraction of the file read before each element."""
    check_file(path)
    size = max(path.stat().st_size, 1)
    with path.open("r", encoding="utf-8-sig", newline="") as source:
        array = _JsonArray(source)
        try:
            for element in array.elements():
                if progress is not None:
                    progress(min(array.consumed / size, 1.0))
                yield element
        except UnicodeDecodeError:
            raise RowsUnreadable("The JSON file is not UTF-8 text.") from None
        except RecursionError:
            raise RowsUnreadable("The JSON file nests too deeply.") from None


def count_json_rows(path: Path) -> int:
    """How many rows a JSON file holds, reading all of it (``json_elements``'s checks)."""
    return sum(1 for _ in json_elements(path))


class _JsonArray:
    """A JSON array read element by element from text, a block at a time."""

    _BLOCK = 1 << 20  # characters

    def __init__(self, source: TextIO) -> None:
        self._source = source
        self._decoder = json.JSONDecoder()
        self._buffer = ""
        self._at = 0  # the next character to read in the buffer
        self._dropped = 0  # characters of the file before the buffer
        self._ended = False
        self.consumed = 0  # characters of the file read so far (for progress)

    def elements(self) -> Iterator[Any]:
        if self._next_char() != "[":
            if self._ended:
                self._invalid("the file holds no JSON value")
            raise RowsUnreadable("The JSON file must hold an array of row objects.")
        self._at += 1
        count = 0
        if self._next_char() == "]":
            self._at += 1
        else:
            while True:
                count += 1
                if count > MAX_ROWS:
                    raise RowsUnreadable(
                        f"The file has more than {MAX_ROWS} rows; at most {MAX_ROWS} are allowed."
                    )
                yield self._element()
                char = self._next_char()
                self._at += 1
                if char == "]":
                    break
                if char != ",":
                    self._invalid("expecting ',' or ']' after a row", -1)
        if self._next_char() is not None:
            self._invalid("extra data after the array")

    def _element(self) -> Any:
        self._next_char()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._at)
            except json.JSONDecodeError as error:
                if not self._read():
                    self._invalid(error.msg, error.pos - self._at)
                continue
            if end == len(self._buffer) and self._read():
                continue  # a number may go on in the next block
            self._at = end
            return value

    def _next_char(self) -> str | None:
        """The next character that is not white space (not consumed), or None at the end."""
        while True:
            buffer, at = self._buffer, self._at
            while at < len(buffer) and buffer[at] in " \t\n\r":
                at += 1
            self._at = at
            if at < len(buffer):
                return buffer[at]
            if not self._read():
                return None

    def _read(self) -> bool:
        """Append the next block (at least as long as what is pending, so that one large
        element is parsed a bounded number of times); False at the end of the file."""
        if self._ended:
            return False
        pending = len(self._buffer) - self._at
        block = self._source.read(max(self._BLOCK, pending))
        if not block:
            self._ended = True
            return False
        self._dropped += self._at
        self._buffer = self._buffer[self._at :] + block
        self._at = 0
        self.consumed = self._dropped + len(self._buffer)
        return True

    def _invalid(self, why: str, offset: int = 0) -> None:
        where = self._dropped + self._at + max(offset, 0)
        raise RowsUnreadable(f"The file is not valid JSON: {why} at character {where}.")


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
        for number, item in enumerate(json_elements(self.path, self._advance), 1):
            if isinstance(item, dict):
                yield Row(number, item, text=False)
            else:
                yield Row(number, {}, text=False, problem="the row is not a JSON object")
        self.fraction = 1.0

    def _advance(self, fraction: float) -> None:
        self.fraction = fraction

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
