"""Word-level diff of a variant against its seed, for the review page."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# Words, runs of whitespace and single punctuation marks; CJK characters one by one (no spaces).
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"\s+|[{_CJK}]|<[A-Z][A-Z0-9_]*_\d+>|[^\W{_CJK}]+|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    op: str  # "same" | "add" | "del"
    text: str


def word_diff(old: str, new: str) -> list[Piece]:
    """Pieces that rebuild ``old`` (same + del) and ``new`` (same + add), changes as whole words."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _push(pieces, "same", "".join(a[i1:i2]))
            continue
        if tag in ("replace", "delete"):
            _push(pieces, "del", "".join(a[i1:i2]))
        if tag in ("replace", "insert"):
            _push(pieces, "add", "".join(b[j1:j2]))
    return pieces


def _push(pieces: list[Piece], op: str, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1].op == op:
        pieces[-1] = Piece(op, pieces[-1].text + text)
    else:
        pieces.append(Piece(op, text))
