"""Which detections are worth replacing. Plain Python (no Presidio import), measured like the
recognizers in recognizers.py."""

from __future__ import annotations

import re
from typing import Any

from flywheel.pii.placeholders import PLACEHOLDER_RE

# spaCy tags identifiers in code as names and places ("self.max_length", "NOT_PROVIDED",
# "Mod(FixDecimalInputMixin"): 965 PERSON and 359 LOCATION hits in 3,000 blocks of Python.
# A person's or place's name never holds these characters, a call "f(" or a lower-case "a.b"
# (initials like "J.R.R." are upper case; "Paris (France)" has a space), so such NER spans
# are dropped: 673 and 210 remain, mostly single class names ("Oracle", "Cast") that no
# character rule can tell from a surname.
_NER_TYPES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION"})
_CODE_LIKE = re.compile(r"[_\[\]{}=;\\|`]|\w\(|[a-z0-9]\.[a-z_]")
# A year (1800-2099) and one more number: a date precise enough to identify (a birthday),
# unlike "today", "10 minutes" or "2019", which spaCy also tags DATE (921 in 8,600 queries).
_YEAR = re.compile(r"(?<!\d)(?:18|19|20)\d\d(?!\d)")
_NUMBER = re.compile(r"\d+")


def keep_result(entity_type: str, value: str) -> bool:
    """Whether a detection of ``entity_type`` covering ``value`` should be replaced."""
    if entity_type in _NER_TYPES:
        # A placeholder inside the span ("<PERSON_1> Smith") is cut out later; judge the rest.
        return not _CODE_LIKE.search(PLACEHOLDER_RE.sub(" ", value))
    if entity_type == "IP_ADDRESS":
        # Python slices ("[-2::-2]") parse as IPv6 addresses; "::1" is no one's address either.
        return sum(ch.isalnum() for ch in value) >= 4
    if entity_type == "DATE_TIME":
        return bool(_YEAR.search(value)) and len(_NUMBER.findall(value)) >= 2
    return True


# spaCy's small model glues a sentence-initial imperative to the name after it ("Tell Brian
# Andersson", "Reach Jane Doe"): the placeholder would eat the verb, and "Brian Andersson"
# later in the trace would get a second placeholder. Leading tokens tagged as one of these
# are trimmed off NER spans; names the tagger reads as names ("Will Smith", "May Lee") are
# tagged PROPN and stay.
_NOT_NAME_POS = frozenset(
    {"VERB", "AUX", "INTJ", "ADP", "DET", "PRON", "SCONJ", "CCONJ", "PART", "PUNCT", "ADV"}
)


def trimmed_start(entity_type: str, doc: Any, start: int, end: int) -> int:
    """Start of an NER span after dropping leading non-name tokens; ``doc`` is the spaCy Doc."""
    if entity_type not in _NER_TYPES or doc is None:
        return start
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None:
        return start
    index = 0
    while index < len(span) - 1 and span[index].pos_ in _NOT_NAME_POS:
        index += 1
    return max(start, span[index].idx) if index else start
