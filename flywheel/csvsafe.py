"""CSV cells that a spreadsheet will not run as formulas, for every CSV download of the service.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula (OWASP "CSV injection"). Usernames, categories and
labels are user input, so every text cell we write goes through :func:`safe_cell`, which puts a
``'`` in front of such a value; numbers are written as numbers (``-0.25`` stays a number).

The escape is reversible: :func:`restore_cell` undoes it exactly, so a file we exported can be
imported again without a changed byte. For that, a text that already starts with ``'``
followed (after more quotes) by a trigger is escaped too.

    writer = csv.writer(buffer)
    writer.writerow(safe_row(["annotator", "=HYPERLINK(...)", -0.25]))  # -> annotator,'=HYPERLINK(...),-0.25
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def _needs_escape(text: str) -> bool:
    return text.lstrip(QUOTE).startswith(TRIGGERS)


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: text starting with a trigger gets a leading ``'``.

    None becomes "" (an empty cell); numbers and booleans pass unchanged.
    """
    if value is None:
        return ""
    if isinstance(value, str) and _needs_escape(value):
        return QUOTE + value
    return value


def restore_cell(text: str) -> str:
    """The original of a cell :func:`safe_cell` wrote (text read back from our own CSV)."""
    if text.startswith(QUOTE) and _needs_escape(text):
        return text[1:]
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then each row, as CSV text lines (``\\r\\n`` endings, RFC 4180): for streaming."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[Any]) -> str:
        writer.writerow(safe_row(values))
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(header)
    for values in rows:
        yield line(values)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(csv_lines(header, rows))
