"""Automatic consensus: when the SOP's rule lets the majority stand for a lead's decision.

The rule is a minimum number of votes for the top value and a minimum share of the non-missing
votes (2 of 3 is ``min_votes=2, min_share=0.66``). A tie never reaches consensus: picking one
side would hide a real disagreement from the lead. Multi-choice values compare as sets (the
order choices were ticked in means nothing). Free text reaches consensus only when every answer
is identical after normalisation, because "most annotators wrote roughly this" is not a label.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from annotate.agreement.table import is_missing, is_multi
from flywheel.errors import InvalidInput

BAD_SHARE = "min_share must be in (0, 1], got {value!r}."
BAD_VOTES = "min_votes must be at least 1, got {value!r}."

NO_VOTES = "no votes"
TOO_FEW_VOTES = "the top value has {votes} vote(s); the rule needs {min_votes}"
TIE = "tie: {tied} values have {votes} vote(s) each"
LOW_SHARE = "the top value has {votes} of {n} votes ({share:.3f}); the rule needs a share of {min_share:g}"
TEXT_DIFFERS = "the text answers differ; free text needs every answer identical"
REACHED = "{votes} of {n} votes"

# 2 / 3 computed as a float must pass a rule written as min_share=2 / 3.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Consensus:
    value: Any | None  # an original vote (not its normalised form); None = a lead decides
    share: float  # the top value's share of the non-missing votes; 0.0 with no votes
    votes: int  # the top value's votes
    reason: str

    @property
    def reached(self) -> bool:
        return self.value is not None


def check_rule(*, min_share: float, min_votes: int) -> None:
    if not 0 < min_share <= 1:
        raise InvalidInput(BAD_SHARE.format(value=min_share))
    if min_votes < 1:
        raise InvalidInput(BAD_VOTES.format(value=min_votes))


def normalise(value: Any, *, text: bool = False) -> Hashable:
    """The form votes are compared in: sets for multi-choice, NFC with collapsed whitespace for text."""
    if is_multi(value):
        return frozenset(value)
    if text and isinstance(value, str):
        # Case is kept: in a corrected answer, "Paris" and "paris" are different answers.
        return " ".join(unicodedata.normalize("NFC", value).split())
    return value


def consensus(
    values: Sequence[Any], *, min_share: float, min_votes: int = 2, text: bool = False
) -> Consensus:
    """The majority value if the rule allows it; missing votes (None, NaN) are not counted."""
    check_rule(min_share=min_share, min_votes=min_votes)
    votes = [v for v in values if not is_missing(v)]
    if not votes:
        return Consensus(None, 0.0, 0, NO_VOTES)
    keys = [normalise(v, text=text) for v in votes]
    counts = Counter(keys).most_common()
    top_key, top = counts[0]
    share = top / len(votes)
    if text and len(counts) > 1:
        return Consensus(None, share, top, TEXT_DIFFERS)
    if top < min_votes:
        return Consensus(None, share, top, TOO_FEW_VOTES.format(votes=top, min_votes=min_votes))
    tied = sum(1 for _, n in counts if n == top)
    if tied > 1:
        return Consensus(None, share, top, TIE.format(tied=tied, votes=top))
    if share < min_share - SHARE_TOLERANCE:
        reason = LOW_SHARE.format(votes=top, n=len(votes), share=share, min_share=min_share)
        return Consensus(None, share, top, reason)
    value = votes[keys.index(top_key)]
    return Consensus(value, share, top, REACHED.format(votes=top, n=len(votes)))
