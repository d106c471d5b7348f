"""A whole label's consensus, by the SOP's rule (:class:`annotate.labeling.ConsensusRule`).

- The rule's fields (default: every choice, multi_choice and bool field) need a majority under
  ``min_share`` and ``min_votes`` (:func:`annotate.agreement.consensus.consensus`).
- The answer field (``prefill: model_answer``: the corrected answer) must be identical across
  the votes after whitespace normalisation: two different corrections are two candidate golden
  answers, and only a lead may choose one.
- Every other field (notes, domain, numbers) takes the value of the earliest vote that agrees
  with the majority on all the rule's fields: it is that annotator's label, not a blend.

One field without consensus is enough for the item to wait for a lead; ``reasons`` says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotate.agreement.consensus import consensus, normalise
from annotate.labeling.model import FieldType, LabelSchema, Prefill

CATEGORICAL = (FieldType.CHOICE, FieldType.MULTI_CHOICE, FieldType.BOOL)


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
    if len(votes) < max(2, rule.min_votes):
        return LabelConsensus(None, {"*": f"{len(votes)} vote(s); consensus needs {max(2, rule.min_votes)}"})
    reasons: dict[str, str] = {}
    decided: dict[str, Any] = {}
    for name in rule_fields(schema):
        outcome = consensus([v.get(name) for v in votes], min_share=rule.min_share, min_votes=rule.min_votes)
        if outcome.reached:
            decided[name] = outcome.value
        else:
            reasons[name] = outcome.reason
    if reasons:
        return LabelConsensus(None, reasons)
    agreeing = tuple(
        i
        for i, vote in enumerate(votes)
        if all(normalise(vote.get(n)) == normalise(decided[n]) for n in decided)
    )
    for f in schema.fields:
        if f.prefill is Prefill.MODEL_ANSWER:
            texts = {normalise(votes[i].get(f.name) or "", text=True) for i in agreeing}
            if len(texts) > 1:
                reasons[f.name] = "the corrected answers differ; a lead picks or writes the golden one"
    if reasons:
        return LabelConsensus(None, reasons)
    first = votes[agreeing[0]]
    values = {
        f.name: decided.get(f.name, first.get(f.name))
        for f in schema.fields
        if f.name in first or f.name in decided
    }
    return LabelConsensus(values, {}, agreeing)
