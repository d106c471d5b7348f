"""Field parsers shared by every export format.

Exports disagree on how a value is spelled: CSV holds only strings, JSON holds parsed
values, Parquet holds maps as key/value pairs and costs as ``Decimal``. These helpers
accept every spelling. A value that cannot be read raises :class:`FieldError`, whose
message names the *field* and the problem but never the value: rows hold raw,
unscrubbed trace content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flywheel.ingest.records import OBSERVATION_LEVELS

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_EPOCH = re.compile(r"^-?\d+(\.\d+)?$")
# Nested JSON-in-a-string is common (the openai-assistants sample stores a JSON string of
# a JSON string); a few levels cover every real case without looping on odd input.
_MAX_JSON_NESTING = 3


class FieldError(ValueError):
    """A field holds something unusable. The message never quotes the value."""


def snake_case(key: str) -> str:
    """``parentObservationId`` -> ``parent_observation_id``; snake keys stay as they are."""
    return _CAMEL_BOUNDARY.sub("_", key).lower()


class Fields:
    """One row, read by snake_case name whatever the export's spelling.

    Keeps the original key so an error names the column the user sees in the file.
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self._keys = {snake_case(key): key for key in raw}

    def __contains__(self, name: str) -> bool:
        return name in self._keys

    def label(self, name: str) -> str:
        return self._keys.get(name, name)

    def get(self, *names: str) -> Any:
        """The first of ``names`` that is present and not None."""
        for name in names:
            value = self.raw.get(self._keys[name]) if name in self._keys else None
            if value is not None:
                return value
        return None

    def first_present(self, *names: str) -> str:
        """The name to blame in an error: the first one present, else the first asked."""
        return next((name for name in names if self.get(name) is not None), names[0])

    def unknown_keys(self, known: frozenset[str]) -> Iterator[str]:
        """Original keys whose snake_case form is not in ``known`` (UI score columns)."""
        return (key for snake, key in self._keys.items() if snake not in known)


def json_value(value: Any) -> Any:
    """Parsed JSON when ``value`` is a string holding a JSON object, array or string.

    Bare numbers, ``true`` and ``null`` stay text: a model answering "42" answered text,
    and CSV cannot tell the two apart anyway.
    """
    for _ in range(_MAX_JSON_NESTING):
        if not isinstance(value, str):
            break
        stripped = value.strip()
        if not stripped or stripped[0] not in '{["':
            break
        try:
            value = json.loads(stripped)
        except (ValueError, RecursionError):
            break
    return pairs_to_dict(value)


def pairs_to_dict(value: Any) -> Any:
    """Parquet maps arrive as ``[(key, value), ...]``; JSON exports give objects."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        return dict(value)
    return value


def text(fields: Fields, *names: str) -> str | None:
    value = fields.get(*names)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | Decimal):
        return str(value)
    raise FieldError(f"field '{fields.label(fields.first_present(*names))}' is not a string")


def required_id(fields: Fields, *names: str) -> str:
    value = text(fields, *names)
    if value is None or not value.strip():
        raise FieldError(f"field '{fields.label(names[0])}' is missing")
    return value


def timestamp(fields: Fields, *names: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (``Z``, offsets, or naive = UTC) or epoch."""
    value = fields.get(*names)
    if value is None:
        return None
    try:
        return to_utc(value)
    except (TypeError, ValueError, OverflowError):
        label = fields.label(fields.first_present(*names))
        raise FieldError(f"timestamp '{label}' is not ISO 8601 or an epoch number") from None


def to_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        # ClickHouse exports naive UTC wall-clock times, so naive means UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise TypeError("bool is not a timestamp")
    if isinstance(value, int | float | Decimal):
        return _from_epoch(float(value))
    if isinstance(value, str):
        stripped = value.strip()
        if _EPOCH.match(stripped):
            return _from_epoch(float(stripped))
        return to_utc(datetime.fromisoformat(stripped))
    raise TypeError("not a timestamp")


def _from_epoch(number: float) -> datetime:
    # Guess the unit from the magnitude: seconds reach 1e11 only in the year 5138.
    for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if abs(number) >= limit:
            number /= scale
            break
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=number)


def number(fields: Fields, *names: str) -> float | None:
    value = fields.get(*names)
    if value is None:
        return None
    result = to_float(value)
    if result is None:
        raise FieldError(f"field '{fields.label(fields.first_present(*names))}' is not a number")
    return result


def to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def numeric_map(fields: Fields, *names: str) -> dict[str, float]:
    """``usageDetails`` and friends: ``{str: number}`` as a JSON object, string or pairs."""
    value = json_value(fields.get(*names))
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"field '{fields.label(fields.first_present(*names))}' is not an object")
    result: dict[str, float] = {}
    for key, item in value.items():
        if item is None:
            continue
        converted = to_float(item)
        if converted is None:
            label = fields.label(fields.first_present(*names))
            raise FieldError(f"field '{label}' has a non-numeric value")
        result[str(key)] = converted
    return result


def tags(fields: Fields, *names: str) -> tuple[str, ...]:
    """Tags as a list, a JSON array string, or a comma-separated string."""
    value = json_value(fields.get(*names))
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(tag.strip() for tag in value.split(",") if tag.strip())
    if isinstance(value, list | tuple) and all(isinstance(tag, str | int | float) for tag in value):
        return tuple(str(tag) for tag in value)
    raise FieldError(f"field '{fields.label(fields.first_present(*names))}' is not a list of tags")


def level(fields: Fields, name: str = "level") -> str:
    value = fields.get(name)
    if value is None or value == "":
        return "DEFAULT"
    if isinstance(value, str) and value.strip().upper() in OBSERVATION_LEVELS:
        return value.strip().upper()
    raise FieldError(f"field '{fields.label(name)}' is not one of {', '.join(OBSERVATION_LEVELS)}")


def latency_ms(fields: Fields, start: datetime | None, end: datetime | None) -> float | None:
    """Milliseconds from the timestamps when both exist, else from the export's column.

    The timestamps are unit-free; the ``latency`` column is not: current Langfuse writes
    seconds (UI downloads since 2025, blob exports), the 2024 seeder sample writes ms.
    Without timestamps, ``latency`` is read as seconds and ``latency_ms`` as ms.
    """
    if start is not None and end is not None and end >= start:
        return (end - start) / timedelta(milliseconds=1)
    milliseconds = number(fields, "latency_ms")
    if milliseconds is not None:
        return milliseconds
    seconds = number(fields, "latency")
    return None if seconds is None else seconds * 1000
