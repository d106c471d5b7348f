"""A small, safe Markdown subset for SOP bodies: headings, bullets, paragraphs, **bold**, `code`.

Everything is HTML-escaped first, so a SOP can never inject markup into the labeling page.
Hard-wrapped lines join into their paragraph or list item, as in Markdown.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ITEM = re.compile(r"^\s*(?:([-*])|\d+[.)])\s+(.*)$")


def _inline(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def render(markdown: str) -> SafeString:
    html: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            html.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            html.append(f"<{list_tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{list_tag}>")
            items.clear()

    for raw in escape(markdown).splitlines():
        heading, item = _HEADING.match(raw), _ITEM.match(raw)
        if not raw.strip():
            flush()
        elif heading:
            flush()
            level = min(len(heading.group(1)) + 2, 6)
            html.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            tag = "ul" if item.group(1) else "ol"
            if paragraph or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append(item.group(2))
        elif items and raw.startswith((" ", "\t")):
            items[-1] += " " + raw.strip()  # a wrapped list item
        else:
            if items:
                flush()
            paragraph.append(raw.strip())
    flush()
    return mark_safe("\n".join(html))  # noqa: S308 - built from escaped text only
