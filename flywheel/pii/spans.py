"""From raw detections to replaced text: protect, resolve overlaps, substitute placeholders.

We resolve overlaps here instead of handing the results to presidio-anonymizer, because:
- its default strategy (MERGE_SIMILAR_OR_CONTAINED) keeps two partly overlapping results of
  different types and then rewrites the shared characters twice (a broken placeholder), and
  REMOVE_INTERSECTIONS trims the weaker one instead, which can split one value in two;
  taking the union of overlapping spans can never leave a detected character in the clear;
- it replaces right to left, so a custom placeholder operator would number the last person in
  a text ``<PERSON_1>``; we number in reading order;
- placeholders already in the text and allow-listed terms must be cut out of detections first,
  which needs span-level control anyway. The replacement itself is string slicing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flywheel.pii.placeholders import PLACEHOLDER_RE, PlaceholderRegistry

_QUOTES_AND_ESCAPES = re.compile(r'\\.|"', re.DOTALL)
# Trimmed off the pieces left after cutting a protected span out of a detection.
_EDGE_CHARS = " \t\r\n,;:.!?()[]{}'\""


@dataclass(frozen=True, slots=True)
class Detection:
    start: int
    end: int
    entity_type: str
    score: float


def allow_list_regex(terms: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive, any-whitespace matcher for allow-listed terms."""
    parts = [r"\s+".join(re.escape(word) for word in term.split()) for term in terms]
    if not parts:
        return None
    parts.sort(key=len, reverse=True)  # longest first, so "Acme Bank" beats "Acme"
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def resolve(text: str, detections: Iterable[Detection], allow: re.Pattern[str] | None) -> list[Detection]:
    """Non-overlapping detections in reading order, with protected spans cut out.

    A JSON document inside a string stays valid JSON: detections never swallow a double quote
    or a backslash escape.
    """
    protected = [m.span() for m in PLACEHOLDER_RE.finditer(text)]
    if allow is not None:
        protected += [m.span() for m in allow.finditer(text)]
    protected += [m.span() for m in _QUOTES_AND_ESCAPES.finditer(text)]
    pieces: list[Detection] = []
    for detection in detections:
        if detection.start < detection.end:
            pieces.extend(_cut(text, detection, protected))
    return _merge(pieces)


def apply(text: str, spans: Sequence[Detection], registry: PlaceholderRegistry) -> tuple[str, Counter[str]]:
    """Replace resolved spans (sorted, disjoint) left to right; count replacements per type."""
    out: list[str] = []
    counts: Counter[str] = Counter()
    cursor = 0
    for span in spans:
        out.append(text[cursor : span.start])
        out.append(registry.placeholder_for(span.entity_type, text[span.start : span.end]))
        counts[span.entity_type] += 1
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out), counts


def _cut(text: str, detection: Detection, protected: Sequence[tuple[int, int]]) -> list[Detection]:
    ranges = [(detection.start, detection.end)]
    for p_start, p_end in protected:
        if p_end <= detection.start or p_start >= detection.end:
            continue
        ranges = [r for start, end in ranges for r in ((start, min(end, p_start)), (max(start, p_end), end))]
    if ranges == [(detection.start, detection.end)]:
        return [detection]
    pieces = []
    for start, end in ranges:
        while start < end and text[start] in _EDGE_CHARS:
            start += 1
        while end > start and text[end - 1] in _EDGE_CHARS:
            end -= 1
        if any(ch.isalnum() for ch in text[start:end]):
            pieces.append(Detection(start, end, detection.entity_type, detection.score))
    return pieces


def _merge(detections: list[Detection]) -> list[Detection]:
    """Union of overlapping spans, typed after the longest one (then the higher score).

    Longest first, as in Presidio's anonymizer, where a contained result always loses: a URL
    inside an e-mail address yields one EMAIL_ADDRESS, "Nelson Mandela" (PERSON) inside
    "1755 Nelson Mandela Drive" one ADDRESS, the same span found twice the surer type.
    """
    merged: list[Detection] = []
    best: Detection | None = None
    for det in sorted(detections, key=lambda d: (d.start, -d.end)):
        if merged and det.start < merged[-1].end:
            last = merged[-1]
            assert best is not None
            if (det.end - det.start, det.score) > (best.end - best.start, best.score):
                best = det
            merged[-1] = Detection(last.start, max(last.end, det.end), best.entity_type, best.score)
        else:
            best = det
            merged.append(det)
    return merged
