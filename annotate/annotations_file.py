"""Raw annotations as CSV or JSON files: the export's rows, and reading them back for an import.

Plain Python. One row per annotation, the same keys in both formats::

    task, trace_id, kind, source, annotator, sop_version, round, status, submitted_at, seconds,
    values (JSON: an object; CSV: one column per field, ``values.<field>``), lineage (JSON text in CSV)

In CSV a list or an object is JSON text (``["tone", "broken JSON"]``), a bool is ``true`` /
``false``, an unanswered field is an empty cell, and text that a spreadsheet would run as a
formula is prefixed with ``'`` (:mod:`flywheel.csvsafe`; reading undoes it exactly). The column
prefix keeps a field named ``status`` or ``round`` apart from the row's own columns, and is what
``pandas.json_normalize`` makes of the JSON rows. JSON files are an array of rows (what the
export writes), an object ``{"annotations": [...]}``, or JSON Lines (one row per line, read
as a stream: the form for very large files besides CSV).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import IO, Any

from flywheel.csvsafe import csv_lines, restore_cell
from flywheel.errors import InvalidInput

COLUMNS = (
    "task",
    "trace_id",
    "kind",
    "source",
    "annotator",
    "sop_version",
    "round",
    "status",
    "submitted_at",
    "seconds",
)
VALUES = "values"
PREFIX = "values."
LINEAGE = "lineage"
# A task is found by its trace id (or, in the project it came from, its id).
REQUIRED = ("annotator", "sop_version")

BAD_FORMAT = "Unknown format {value!r}; use csv or json."
NOT_UTF8 = "The file is not UTF-8 text; save it as UTF-8."
EMPTY = "The file is empty; expected a header row (CSV) or a JSON array of annotations."
MISSING_COLUMNS = "The CSV header lacks {missing}; it needs {required}, and trace_id or task."
UNKNOWN_COLUMN = (
    "Unknown column {column!r} in the CSV header; field values go in columns named values.<field>."
)
BAD_JSON = "The file is not valid JSON: {error}."
BAD_JSON_LINE = "Line {line} is not valid JSON: {error}."
TOO_DEEP = "it is nested hundreds of levels deep (an annotation is a flat object)"
JSON_SHAPE = "A JSON import is an array of annotation objects, or an object with an 'annotations' array."
ROW_NOT_OBJECT = "Row {row} is not a JSON object; each annotation is an object like the export's rows."


class FileFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def parse_format(value: str) -> FileFormat:
    try:
        return FileFormat(value.strip().lower())
    except ValueError:
        raise InvalidInput(BAD_FORMAT.format(value=value[:20])) from None


@dataclass(frozen=True)
class ExportRow:
    task: int
    trace_id: str
    kind: str
    source: str
    annotator: str
    sop_version: int
    round: int
    status: str
    submitted_at: datetime
    seconds: float
    values: dict[str, Any]
    lineage: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "trace_id": self.trace_id,
            "kind": self.kind,
            "source": self.source,
            "annotator": self.annotator,
            "sop_version": self.sop_version,
            "round": self.round,
            "status": self.status,
            "submitted_at": self.submitted_at.isoformat(),
            "seconds": self.seconds,
            VALUES: self.values,
            LINEAGE: self.lineage,
        }

    def to_csv(self, fields: Sequence[str]) -> list[Any]:
        head = [getattr(self, c) for c in COLUMNS]
        head[COLUMNS.index("submitted_at")] = self.submitted_at.isoformat()
        return (
            head + [cell(self.values.get(f)) for f in fields] + [json.dumps(self.lineage, ensure_ascii=False)]
        )


def csv_header(fields: Sequence[str]) -> list[str]:
    return [*COLUMNS, *(PREFIX + f for f in fields), LINEAGE]


def cell(value: Any) -> Any:
    """A field's value as a CSV cell: JSON for lists and objects, true/false, "" for unanswered."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def export_lines(rows: Iterable[ExportRow], fmt: FileFormat, fields: Sequence[str]) -> Iterator[str]:
    """The file's text, a piece at a time (for a streamed response or a file written as it goes)."""
    if fmt is FileFormat.CSV:
        yield from csv_lines(csv_header(fields), (row.to_csv(fields) for row in rows))
        return
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + json.dumps(row.to_json(), ensure_ascii=False, allow_nan=False)
        first = False
    yield "\n]\n"


@dataclass(frozen=True)
class RawRow:
    """One row of an import file. ``values`` hold text when ``from_csv`` (typed by the SOP's schema later)."""

    number: int  # 1-based, the header not counted
    data: dict[str, Any]  # the row's own columns (COLUMNS), as given
    values: dict[str, Any] | None  # None: the row's "values" is not an object
    from_csv: bool
    line: int | None = None  # CSV: the line the row ends on


def read_rows(stream: IO[bytes], fmt: FileFormat) -> Iterator[RawRow]:
    """The rows of an uploaded or opened file (binary), one at a time."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from (_csv_rows(text) if fmt is FileFormat.CSV else _json_rows(text))
    except UnicodeDecodeError:
        raise InvalidInput(NOT_UTF8) from None
    finally:
        text.detach()


def sniff_format(head: bytes) -> FileFormat:
    """JSON when the first visible character opens an array or object, else CSV."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return FileFormat.JSON if start in (b"[", b"{") else FileFormat.CSV


def _csv_rows(text: IO[str]) -> Iterator[RawRow]:
    reader = csv.reader(text)
    header = next(reader, None)
    if not header:
        raise InvalidInput(EMPTY)
    header = [h.strip() for h in header]
    for column in header:
        if column not in COLUMNS and column != LINEAGE and not column.startswith(PREFIX):
            raise InvalidInput(UNKNOWN_COLUMN.format(column=column[:60]))
    missing = [c for c in REQUIRED if c not in header]
    if missing or not {"trace_id", "task"} & set(header):
        missing += [] if {"trace_id", "task"} & set(header) else ["trace_id"]
        raise InvalidInput(MISSING_COLUMNS.format(missing=", ".join(missing), required=", ".join(REQUIRED)))
    for number, cells in enumerate(reader, 1):
        if not any(c.strip() for c in cells):
            continue  # a blank line (a spreadsheet's trailing rows)
        data: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for column, raw in zip(header, cells, strict=False):
            original = restore_cell(raw)
            if column.startswith(PREFIX):
                values[column[len(PREFIX) :]] = original
            elif column != LINEAGE:
                data[column] = original.strip()
        yield RawRow(number, data, values, from_csv=True, line=reader.line_num)


def _json_rows(text: IO[str]) -> Iterator[RawRow]:
    lines = _numbered(text)
    first_number, first = next(((n, line) for n, line in lines if line.strip()), (0, ""))
    if not first:
        raise InvalidInput(EMPTY)
    if first.lstrip().startswith("{"):
        try:
            row = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            row = None  # a pretty-printed object: read it whole below
        if isinstance(row, dict) and "annotations" not in row:
            yield from _json_lines([(first_number, first)], lines)
            return
    body = _load(first + "".join(line for _, line in lines))
    items = body.get("annotations") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise InvalidInput(JSON_SHAPE)
    for number, item in enumerate(items, 1):
        yield _json_row(number, item)


def _json_lines(head: list[tuple[int, str]], lines: Iterator[tuple[int, str]]) -> Iterator[RawRow]:
    """JSON Lines, one row per line, read as a stream."""
    number = 0
    for line_number, line in _chain(head, lines):
        if not line.strip():
            continue
        number += 1
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInput(BAD_JSON_LINE.format(line=line_number, error=error.msg)) from None
        except RecursionError:
            raise InvalidInput(BAD_JSON_LINE.format(line=line_number, error=TOO_DEEP)) from None
        yield _json_row(number, item)


def _chain(head: list[tuple[int, str]], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield from head
    yield from rest


def _numbered(text: IO[str]) -> Iterator[tuple[int, str]]:
    yield from enumerate(text, 1)


def _load(body: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidInput(BAD_JSON.format(error=f"{error.msg} at {where}")) from None
    except RecursionError:  # json recurses per nesting level: ~1,000 levels raise this, not ValueError
        raise InvalidInput(BAD_JSON.format(error=TOO_DEEP)) from None


def _json_row(number: int, item: Any) -> RawRow:
    if not isinstance(item, dict):
        raise InvalidInput(ROW_NOT_OBJECT.format(row=number))
    values = item.get(VALUES, {})
    data = {k: item[k] for k in COLUMNS if k in item}
    return RawRow(number, data, values if isinstance(values, dict) else None, from_csv=False)
