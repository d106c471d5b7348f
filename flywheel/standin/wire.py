"""Wire formats shared by the stand-in's endpoints: timestamps, raw JSON text, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any


class BadRequest(ValueError):
    """A request the real server would answer with 400; the message goes into the body."""


def format_time(value: datetime | None) -> str | None:
    """Langfuse writes millisecond ISO 8601 in UTC with a ``Z`` suffix."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_time(value: Any, *, field: str) -> datetime:
    """Parse an ISO 8601 timestamp; naive values are UTC, as on the server."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"{field} is not an ISO 8601 datetime") from None
    else:
        raise BadRequest(f"{field} is not an ISO 8601 datetime")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_optional_time(value: Any, *, field: str) -> datetime | None:
    return None if value in (None, "") else parse_time(value, field=field)


def raw_text(value: Any) -> str | None:
    """The text ClickHouse holds for an I/O or metadata value.

    A string is already the stored text (the "download trace" files carry it that way);
    anything else was parsed JSON and is stored re-serialised.
    """
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_json_prioritised(text: str | None) -> Any:
    """What the v1 endpoints return for stored text: parsed JSON when it parses."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def encode_cursor(payload: dict[str, Any], *, urlsafe: bool = False) -> str:
    data = json.dumps(payload, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    return encoded.decode("ascii")


def decode_cursor(cursor: str, *, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.b64decode(padded, altchars=b"-_", validate=False))
    except (binascii.Error, ValueError):
        raise BadRequest("Invalid cursor") from None
    if not isinstance(decoded, dict) or any(key not in decoded for key in keys):
        raise BadRequest("Invalid cursor")
    return decoded
