"""The transform interface, and the chain that runs several in a row."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from annotate.augment.records import Drop, SeedItem, Variant


@runtime_checkable
class Transform(Protocol):
    """Changes how a seed's input is expressed, never what it asks or what the answer must be.

    ``apply`` is deterministic given ``rng``: the same seed item and the same generator state give
    the same variant. It returns :class:`Drop` rather than raising when it cannot make a variant.
    ``name`` becomes the variants' ``augment_type``; ``settings`` (JSON-able) goes into lineage.
    """

    name: str

    @property
    def settings(self) -> Mapping[str, Any]: ...

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop: ...


class Chain:
    """Several transforms in a row (an entity swap, then noise): one variant, ``a+b`` as its type."""

    def __init__(self, steps: Sequence[Transform]) -> None:
        self.steps = tuple(steps)
        self.name = "+".join(step.name for step in self.steps)

    @property
    def settings(self) -> Mapping[str, Any]:
        return {"steps": [{"transform": s.name, "params": dict(s.settings)} for s in self.steps]}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        current, chosen = item, []
        renamed: dict[str, str] = {}
        for step in self.steps:
            # What an earlier step swapped in ("Sam Sample", "SKU-5633") is masked as a placeholder,
            # which every transform leaves alone: noise must not put a typo into the new name.
            masked, unmask = _masked(current, renamed.values())
            outcome = step.apply(masked, rng)
            if isinstance(outcome, Drop):
                return outcome
            outcome = Variant(
                tuple({**m, "content": unmask(str(m.get("content") or ""))} for m in outcome.prompt),
                unmask(outcome.answer),
                unmask(outcome.rejected_answer),
                outcome.params,
                outcome.renamed,
            )
            current = current.with_content(outcome.prompt, outcome.answer, outcome.rejected_answer)
            chosen.append({"transform": step.name, **outcome.params})
            # a -> b, then b -> c: the seed's a is now c.
            renamed = {k: outcome.renamed.get(v, v) for k, v in renamed.items()}
            renamed.update({k: v for k, v in outcome.renamed.items() if k not in renamed})
        return Variant(current.prompt, current.answer, current.rejected_answer, {"steps": chosen}, renamed)


def _masked(item: SeedItem, terms: Iterable[str]) -> tuple[SeedItem, Callable[[str], str]]:
    ordered = sorted({t for t in terms if t}, key=len, reverse=True)
    if not ordered:
        return item, lambda text: text
    token = {term: f"<AUGKEEP_{n}>" for n, term in enumerate(ordered, 1)}
    term_of = {v: k for k, v in token.items()}
    find = re.compile("|".join(map(re.escape, ordered)))
    found = re.compile("|".join(map(re.escape, term_of)))

    def mask(text: str) -> str:
        return find.sub(lambda m: token[m.group(0)], text)

    def unmask(text: str) -> str:
        return found.sub(lambda m: term_of[m.group(0)], text)

    prompt = [
        m if m.get("role") == "system" else {**m, "content": mask(str(m.get("content") or ""))}
        for m in item.prompt
    ]
    return item.with_content(prompt, mask(item.answer), mask(item.rejected_answer)), unmask
