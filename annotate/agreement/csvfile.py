"""A ratings table in long form from a CSV file: ``item,annotator,value``, one row per rating.

An empty value is a missing rating. Numbers are parsed for interval and ratio fields, and for
ordinal fields given without a category order (the numbers are the order). An optional
``field`` column lets one file hold several fields; only the rows of the asked field are read.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from annotate.agreement.table import Level, Rating, parse_level
from flywheel.errors import InvalidInput, NotFound

EXPECTED_COLUMNS = ("item", "annotator", "value")
NO_FILE = "No ratings file at {path}."
EMPTY_FILE = "{path} is empty; expected a header row with the columns item,annotator,value."
BAD_HEADER = "{path}: the header must name the columns item,annotator,value; it has {found}."
NOT_UTF8 = "{path} is not UTF-8 text; save the CSV as UTF-8."
EMPTY_KEY = "{path}, line {line}: the {column} is empty; every row names an item and an annotator."
NOT_A_NUMBER = "{path}, line {line}: value {value!r} is not a number; {level} fields need numbers."
ORDINAL_HINT = "Or pass the categories in order (the schema's choices) to compare them as text."
NO_ROWS_FOR_FIELD = "{path} has no rows for field {field!r}; its fields are {fields}."


def read_ratings_csv(
    path: str | Path, *, level: Level | str, field: str | None = None, categories: Sequence[Any] | None = None
) -> list[Rating]:
    """The ratings in the file; values stay text for nominal fields (so "1" and "1.0" differ there)."""
    level, path = parse_level(level), Path(path)
    if not path.is_file():
        raise NotFound(NO_FILE.format(path=path))
    # Spreadsheets save UTF-8 with a byte-order mark; utf-8-sig reads both.
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None:
                raise InvalidInput(EMPTY_FILE.format(path=path))
            header = [name.strip() for name in reader.fieldnames]
            if not set(EXPECTED_COLUMNS) <= set(header):
                raise InvalidInput(BAD_HEADER.format(path=path, found=",".join(header) or "no columns"))
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise InvalidInput(NOT_UTF8.format(path=path)) from None
    if field is not None and "field" in header:
        fields = sorted({(row.get("field") or "").strip() for _, row in rows})
        rows = [(line, row) for line, row in rows if (row.get("field") or "").strip() == field]
        if not rows:
            raise InvalidInput(NO_ROWS_FOR_FIELD.format(path=path, field=field, fields=", ".join(fields)))
    numbers = not level.is_categorical or (level is Level.ORDINAL and categories is None)
    ratings = []
    for line, row in rows:
        item, annotator = (row.get("item") or "").strip(), (row.get("annotator") or "").strip()
        for column, text in (("item", item), ("annotator", annotator)):
            if not text:
                raise InvalidInput(EMPTY_KEY.format(path=path, line=line, column=column))
        raw = (row.get("value") or "").strip()
        value: Any = None if not raw else _number(raw, path, line, level) if numbers else raw
        ratings.append(Rating(item=item, annotator=annotator, value=value))
    return ratings


def _number(text: str, path: Path, line: int, level: Level) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        hint = ORDINAL_HINT if level is Level.ORDINAL else ""
        raise InvalidInput(NOT_A_NUMBER.format(path=path, line=line, value=text, level=level), hint=hint)
    return value
