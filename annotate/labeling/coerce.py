"""Raw label values (a form post, a JSON body) into typed, normalised ones.

Form posts carry only text ("on", "3"), JSON bodies carry typed values; both become the same
stored value. Each coercion raises ``ValueError`` whose text completes "<field> ...", e.g.
"must be true or false (got 'maybe')". Short helpers for messages live here too.
"""

from __future__ import annotations

import json
import math
from typing import Any

from annotate.labeling.model import FieldType, LabelField
from flywheel.rules.parse import got  # one wording for bad values across the service

_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0", ""})


def coerce(field: LabelField, raw: Any) -> Any:
    """The stored value: bool, float / int / None, str / None (choice), list[str], str (text)."""
    kind = field.type
    if kind is FieldType.BOOL:
        return _bool(raw)
    if kind is FieldType.NUMBER:
        return _number(raw, whole=False)
    if kind is FieldType.INTEGER:
        return _number(raw, whole=True)
    if kind is FieldType.CHOICE:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if not isinstance(raw, str):
            raise ValueError(f"must be one of the choices (got {got(raw)})")
        return raw.strip()
    if kind is FieldType.MULTI_CHOICE:
        return _choices(field, raw)
    if kind is FieldType.JSON and raw is not None and not isinstance(raw, str):
        # A JSON body may carry the value already parsed; it is stored as text like the rest.
        try:
            return json.dumps(raw, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError(f"must be JSON text (got {got(raw)})") from None
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"must be text (got {got(raw)})")
    return normalise_text(raw)


def normalise_text(text: str) -> str:
    """``\\n`` line endings, no trailing whitespace at the end.

    Whitespace at the end of inner lines stays: two trailing spaces are a Markdown line break.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def empty_value(field: LabelField) -> Any:
    """What an unanswered field is stored as."""
    if field.type is FieldType.BOOL:
        return False
    if field.type is FieldType.MULTI_CHOICE:
        return []
    return "" if field.type.is_text else None


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _bool(raw: Any) -> bool:
    if raw is None:
        return False  # an unchecked checkbox is not posted at all
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().casefold() in _TRUE | _FALSE:
        return raw.strip().casefold() in _TRUE
    raise ValueError(f"must be true or false (got {got(raw)})")


def _number(raw: Any, *, whole: bool) -> float | int | None:
    what = "a whole number" if whole else "a number"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value: float | int
    if isinstance(raw, str):
        try:
            value = int(raw) if whole and raw.strip().lstrip("+-").isdigit() else float(raw)
        except ValueError:
            raise ValueError(f"must be {what} (got {got(raw)})") from None
    elif is_number(raw):
        value = raw
    else:
        raise ValueError(f"must be {what} (got {got(raw)})")
    if not math.isfinite(value):
        raise ValueError(f"must be {what} (got {got(raw)})")
    if not whole:
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"must be {what} (got {got(raw)})")
    return int(value)


def _choices(field: LabelField, raw: Any) -> list[str]:
    """Unique, in the schema's order; unknown values follow in the order given (validation names them)."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"must be a list of choices (got {got(raw)})")
    given = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    known = [choice for choice in field.choices if choice in given]
    return known + [item for item in given if item not in field.choices]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_json(text: str) -> Any:
    """Strict JSON: NaN and Infinity are refused, as every other JSON parser does.

    Raises ``ValueError`` with the position: "Expecting ',' delimiter at line 1, column 14 (char 13)".
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno} (char {error.pos})"
        raise ValueError(f"{error.msg} at {where}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def parses(text: str) -> bool:
    try:
        parse_json(text)
    except ValueError:
        return False
    return True
