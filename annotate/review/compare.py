"""Every vote of one item side by side, field by field, with the differences marked.

A field *differs* when not every vote gave the same value (whitespace aside for text; an empty
answer is a value of its own). A vote is in the *minority* on a field when some other value got
more votes than its own; with a tie at the top nobody is, since no side is the majority.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotate.agreement.consensus import normalise
from annotate.labeling.model import LabelSchema


@dataclass(frozen=True)
class FieldComparison:
    name: str
    label: str
    type: str
    values: tuple[Any, ...]  # one per vote, in the votes' order
    differs: bool
    minority: tuple[bool, ...]  # per vote


def compare_votes(schema: LabelSchema, votes: Sequence[Mapping[str, Any]]) -> list[FieldComparison]:
    rows = []
    for f in schema.fields:
        values = tuple(v.get(f.name) for v in votes)
        keys = [_key(x, f.type.is_text) for x in values]
        counts = Counter(keys)
        top = max(counts.values(), default=0)
        rows.append(
            FieldComparison(
                name=f.name,
                label=f.label or f.name.replace("_", " ").capitalize(),
                type=f.type.value,
                values=values,
                differs=len(counts) > 1,
                minority=tuple(counts[k] < top for k in keys),
            )
        )
    return rows


def _key(value: Any, text: bool) -> Hashable:
    if value is None or value == "" or value == []:
        return None
    key = normalise(value, text=text)
    return repr(key) if isinstance(key, dict) else key
