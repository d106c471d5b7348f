"""Every vote of one item side by side, field by field, with the differences marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    differs: bool  # not every vote gave the same value (whitespace aside for text)
    minority: tuple[bool, ...]  # per vote: its value is not the most common one


def compare_votes(schema: LabelSchema, votes: Sequence[Mapping[str, Any]]) -> list[FieldComparison]:
    rows = []
    for f in schema.fields:
        values = tuple(v.get(f.name) for v in votes)
        keys = [_key(x, f.type.is_text) for x in values]
        counts = {k: keys.count(k) for k in keys}
        top = max(counts.values()) if counts else 0
        tied = sum(1 for n in counts.values() if n == top) > 1
        rows.append(
            FieldComparison(
                name=f.name,
                label=f.label or f.name.replace("_", " ").capitalize(),
                type=f.type.value,
                values=values,
                differs=len(counts) > 1,
                minority=tuple(len(counts) > 1 and (tied or counts[k] < top) for k in keys),
            )
        )
    return rows


def _key(value: Any, text: bool) -> Any:
    if value in (None, "", []):
        return None
    key = normalise(value, text=text)
    return repr(key) if isinstance(key, dict | list) else key
