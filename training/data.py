"""Release rows -> TRL rows, with over-long samples trimmed from the left or dropped, never cut.

TRL truncates over-long sequences at the end (``truncation_mode="keep_start"``), which would cut
through the golden answer: a JSON answer cut mid-way teaches broken JSON. So every sample is made to
fit ``max_length`` here, before TRL sees it (TRL's own truncation then never fires):

1. it fits: kept as is;
2. ``too_long: trim``: the oldest context turns are dropped, a whole turn at a time (the kept context
   always starts at a user message), the system message kept while it fits (``keep_system``);
3. still too long (the last question plus the answer alone exceed ``max_length``), or
   ``too_long: drop``: the sample is dropped.

The counts go to metrics.json (``train.trimmed_context``, ``train.dropped_too_long``).

SFT rows become conversational prompt/completion rows (``{"prompt": msgs[:-1], "completion": [last]}``)
so the loss covers the golden answer only: earlier assistant turns in a failure trace may be the
production model's bad answers, and this works with any chat template (no ``{% generation %}`` needed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.config import DataSettings

Message = dict[str, Any]
# Token count of a whole conversation rendered with the chat template, as TRL tokenizes it.
TokenCounter = Callable[[list[Message]], int]


@dataclass
class PreparedSplit:
    """TRL rows of one split; ``metas[i]`` belongs to ``rows[i]``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    rows_in: int = 0
    trimmed_context: int = 0
    dropped_too_long: int = 0
    dropped_ids: list[Any] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows": len(self.rows),
            "trimmed_context": self.trimmed_context,
            "dropped_too_long": self.dropped_too_long,
            "dropped_ids": self.dropped_ids[:50],
        }


def fit_prompt(
    prompt: Sequence[Message],
    answers: Sequence[Sequence[Message]],
    *,
    count: TokenCounter,
    settings: DataSettings,
) -> tuple[list[Message] | None, bool]:
    """(prompt that fits with every answer, trimmed?); (None, False) when the sample must be dropped."""

    def fits(candidate: list[Message]) -> bool:
        return all(count([*candidate, *answer]) <= settings.max_length for answer in answers)

    full = list(prompt)
    if fits(full):
        return full, False
    if settings.too_long != "trim":
        return None, False
    system = full[:1] if full and full[0].get("role") == "system" else []
    rest = full[len(system) :]
    # Cut points: each later user message starts a turn; cutting there keeps whole turns.
    cuts = [i for i, message in enumerate(rest) if i > 0 and message.get("role") == "user"]
    candidates: list[list[Message]] = []
    if settings.keep_system and system:
        candidates += [system + rest[i:] for i in cuts]
        candidates += [rest, *(rest[i:] for i in cuts)]
    else:
        candidates += [rest, *(rest[i:] for i in cuts)]
    for candidate in candidates:
        if candidate and fits(candidate):
            return candidate, True
    return None, False


def split_prepare(
    rows: Sequence[dict[str, Any]], *, method: str, count: TokenCounter, settings: DataSettings
) -> PreparedSplit:
    """Release rows of one split (validated by ``release_load``) -> TRL rows that fit ``max_length``."""
    out = PreparedSplit(rows_in=len(rows))
    for row in rows:
        if method == "sft":
            prompt, answers = row["messages"][:-1], [row["messages"][-1:]]
        else:
            prompt, answers = row["prompt"], [row["chosen"], row["rejected"]]
        fitted, trimmed = fit_prompt(prompt, answers, count=count, settings=settings)
        if fitted is None:
            out.dropped_too_long += 1
            out.dropped_ids.append(row["meta"].get("id"))
            continue
        out.trimmed_context += int(trimmed)
        if method == "sft":
            out.rows.append({"prompt": fitted, "completion": answers[0]})
        else:
            out.rows.append({"prompt": fitted, "chosen": answers[0], "rejected": answers[1]})
        out.metas.append(row["meta"])
    return out


def golden_answer(row: dict[str, Any]) -> list[Message]:
    """The golden answer of a prepared row: SFT ``completion``, DPO ``chosen``."""
    return list(row["completion"] if "completion" in row else row["chosen"])


def token_counter(tokenizer: Any) -> TokenCounter:
    """Counts tokens the way TRL tokenizes conversational rows (the chat template, no extra EOS)."""

    def count(messages: list[Message]) -> int:
        encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)
        return len(encoded["input_ids"])

    return count


def to_dataset(split: PreparedSplit) -> Any:
    """A ``datasets.Dataset`` of the TRL rows (``meta`` stays out: TRL would try to collate it)."""
    from datasets import Dataset

    return Dataset.from_list(split.rows)
