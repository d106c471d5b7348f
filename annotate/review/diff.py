"""A line diff of a corrected answer against the model's answer, as the labeling screen shows it."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

# Beyond this many lines on both sides together the diff is not worth the lead's screen.
MAX_LINES = 4000


@dataclass(frozen=True)
class DiffLine:
    op: str  # " " same, "-" only in the model's answer, "+" only in the corrected one
    text: str


def line_diff(original: str, corrected: str) -> list[DiffLine]:
    """Every line of both texts once, in order; ``[]`` when the texts are the same.

    Line endings and trailing whitespace are normalised first, as in stored labels.
    """
    old, new = _lines(original), _lines(corrected)
    if old == new:
        return []
    if len(old) + len(new) > MAX_LINES:
        return [DiffLine("-", f"({len(old)} lines)"), DiffLine("+", f"({len(new)} lines; too long to diff)")]
    out: list[DiffLine] = []
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [DiffLine(" ", line) for line in old[i1:i2]]
            continue
        out += [DiffLine("-", line) for line in old[i1:i2]]
        out += [DiffLine("+", line) for line in new[j1:j2]]
    return out


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return text.split("\n") if text else []
