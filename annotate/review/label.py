"""A whole label's consensus, by the SOP's rule (:class:`annotate.labeling.ConsensusRule`).

- The rule's fields (default: every choice, multi_choice and bool field) need a majority under
  ``min_share`` and ``min_votes`` (:func:`annotate.agreement.consensus.consensus`). An
  unanswered field counts as an answer of its own: two annotators who both left an optional
  field empty agree, one who answered and one who did not disagree. A text field named in the
  rule must be identical across the votes (whitespace aside).
- The answer field (``prefill: model_answer``: the corrected answer) must be identical across
  the agreeing votes after whitespace normalisation: two different corrections are two
  candidate golden answers, and only a lead may choose one.
- Every other field (notes, domain, numbers) takes the value of the earliest vote that agrees
  with the majority on all the rule's fields: it is that annotator's label, not a blend.

One field without consensus is enough for the item to wait for a lead; ``reasons`` says which.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotate.agreement.consensus import consensus, normalise
from annotate.labeling.model import FieldType, LabelField, LabelSchema, Prefill

CATEGORICAL = (FieldType.CHOICE, FieldType.MULTI_CHOICE, FieldType.BOOL)
TOO_FEW = "{n} vote(s); consensus needs {needed}"
ANSWERS_DIFFER = "the corrected answers differ; a lead picks or writes the golden one"
# Stands for "left empty" while counting: consensus() skips None, but an empty answer is an answer.
_EMPTY = "\x00empty"


@dataclass(frozen=True)
class LabelConsensus:
    values: dict[str, Any] | None  # the consensus label; None = a lead decides
    reasons: dict[str, str] = field(default_factory=dict)  # field -> why it has no consensus
    agreeing: tuple[int, ...] = ()  # indices of the votes that agree with the majority

    @property
    def reached(self) -> bool:
        return self.values is not None

    def summary(self) -> str:
        if self.reached:
            return f"consensus of {len(self.agreeing)} annotators"
        return "; ".join(f"{name}: {why}" for name, why in self.reasons.items())


def rule_fields(schema: LabelSchema) -> tuple[str, ...]:
    if schema.consensus.fields:
        return schema.consensus.fields
    return tuple(f.name for f in schema.fields if f.type in CATEGORICAL)


def label_consensus(schema: LabelSchema, votes: Sequence[Mapping[str, Any]]) -> LabelConsensus:
    """``votes``: the cleaned labels of one item, oldest first."""
    rule = schema.consensus
    needed = max(2, rule.min_votes)
    if len(votes) < needed:
        return LabelConsensus(None, {"*": TOO_FEW.format(n=len(votes), needed=needed)})
    reasons: dict[str, str] = {}
    decided: dict[str, Hashable] = {}
    for name in rule_fields(schema):
        text = schema.field(name).type.is_text
        counted = [_counted(v.get(name)) for v in votes]
        outcome = consensus(counted, min_share=rule.min_share, min_votes=rule.min_votes, text=text)
        if outcome.reached:
            decided[name] = _key(schema.field(name), None if outcome.value == _EMPTY else outcome.value)
        else:
            reasons[name] = outcome.reason if text else f"{_split(counted)} ({outcome.reason})"
    if reasons:
        return LabelConsensus(None, reasons)
    agreeing = tuple(
        i
        for i, vote in enumerate(votes)
        if all(_key(schema.field(n), vote.get(n)) == key for n, key in decided.items())
    )
    for f in schema.fields:
        if f.prefill is Prefill.MODEL_ANSWER:
            texts = {_key(f, votes[i].get(f.name)) for i in agreeing}
            if len(texts) > 1:
                reasons[f.name] = ANSWERS_DIFFER
    if reasons:
        return LabelConsensus(None, reasons)
    first = votes[agreeing[0]]
    return LabelConsensus({f.name: first.get(f.name) for f in schema.fields if f.name in first}, {}, agreeing)


def _split(values: Sequence[Any]) -> str:
    """How the votes fell, e.g. "bad 2, good 1". Choices only: text answers are never quoted."""
    shown = [_shown(v) for v in values]
    counts = Counter(shown).most_common()
    return ", ".join(f"{value} {n}" for value, n in counts)


def _shown(value: Any) -> str:
    if value == _EMPTY:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    return str(value)


def _counted(value: Any) -> Any:
    return _EMPTY if _empty(value) else value


def _key(f: LabelField, value: Any) -> Hashable:
    """The form two votes of one field compare equal in (empty: None; text without spacing)."""
    if _empty(value):
        return None
    return normalise(value, text=f.type.is_text)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []
