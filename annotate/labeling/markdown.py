"""Just enough Markdown for an SOP: ATX headings with their bodies, and list items.

Follows CommonMark where it matters here: a heading needs a space after its ``#``s (``##好回答``
renders as text, so it is not a heading), may be indented up to 3 spaces and may end in a
closing ``#`` run; lines inside fenced code blocks are never headings or list items. Setext
headings (a line underlined with ``===``) are not read: SOP authors are asked for ``#``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(.*\S)\s*$")


@dataclass(frozen=True)
class Section:
    """A heading and the text under it, up to the next heading of the same or a higher level."""

    level: int
    title: str
    body: str


def sections(markdown: str) -> list[Section]:
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[tuple[int, int, str]] = []  # (line index, level, title)
    for index, in_code, line in _lines(lines):
        if not in_code and (match := _HEADING.match(line)):
            found.append((index, len(match.group(1)), (match.group(2) or "").strip()))
    result = []
    for position, (index, level, title) in enumerate(found):
        end = next((i for i, lvl, _ in found[position + 1 :] if lvl <= level), len(lines))
        result.append(Section(level, title, "\n".join(lines[index + 1 : end])))
    return result


def list_items(body: str) -> list[str]:
    """The text of the outermost list items (nested items are details of their parent)."""
    items: list[tuple[int, str]] = []
    for _, in_code, line in _lines(body.split("\n")):
        if not in_code and (match := _ITEM.match(line)):
            items.append((len(match.group(1).expandtabs(4)), match.group(2)))
    outermost = min((indent for indent, _ in items), default=0)
    return [text for indent, text in items if indent == outermost]


def _lines(lines: list[str]) -> list[tuple[int, bool, str]]:
    """(index, inside a fenced code block, line); fence lines themselves count as code."""
    marked = []
    fence = ""
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence:
            # Closed by a run of the same character at least as long as the opening one.
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            marked.append((index, True, line))
        elif match:
            fence = match.group(1)
            marked.append((index, True, line))
        else:
            marked.append((index, False, line))
    return marked
