"""Text helpers the transforms share: sentences, script detection, case, and the answer's anchors.

An *anchor* is a token that identifies something: a PII placeholder (``<PERSON_1>``) or a token
with a digit in it (``A123456``, ``SKU-1234``, ``2``, ``19.99``). When the answer repeats an
anchor of the input, the answer depends on it; a variant that loses it from the input asks a
different question (see :mod:`annotate.augment.contract`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flywheel.pii.placeholders import PLACEHOLDER_RE

# ASCII on purpose: in Chinese text an identifier is glued to the characters around it.
_DIGIT_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]*\d[A-Za-z0-9_.-]*(?<![.-])")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
# A sentence ends at . ! ? (ASCII, then space) or at a CJK full stop / full-width mark.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|(?<=[。!?])\s*(?=\S)")


def anchors(text: str) -> set[str]:
    found = {m.group(0) for m in PLACEHOLDER_RE.finditer(text)}
    bare = PLACEHOLDER_RE.sub(" ", text)
    found.update(m.group(0) for m in _DIGIT_TOKEN.finditer(bare))
    return found


def grounded_anchors(inputs: Iterable[str], answer: str) -> set[str]:
    """The answer's anchors that also occur in the input: what the answer relies on."""
    given: set[str] = set()
    for text in inputs:
        given |= anchors(text)
    return anchors(answer) & given


def is_cjk(text: str) -> bool:
    """Mostly Chinese (or Japanese kanji): transforms pick their templates by this."""
    cjk = len(_CJK.findall(text))
    letters = len(_LETTER.findall(text))
    return letters > 0 and cjk / letters >= 0.3


def split_sentences(text: str) -> list[str]:
    """Sentences with their end punctuation; the whitespace between them is dropped."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def join_sentences(parts: Iterable[str], *, cjk: bool) -> str:
    return ("" if cjk else " ").join(parts)


def match_case(template: str, word: str) -> str:
    """``template`` written the way ``word`` is: lower, Title or UPPER."""
    if word.isupper() and len(word) > 1:
        return template.upper()
    if word[:1].isupper():
        return template[:1].upper() + template[1:]
    return template.lower()


def ends_sentence(text: str) -> bool:
    return text.rstrip()[-1:] in (".", "!", "?", "。", "!", "?", "…")


def sentence_starts(text: str) -> list[int]:
    """Where each sentence begins (0 first); the text between two starts is one sentence and its gap."""
    return [0, *(m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text))]
