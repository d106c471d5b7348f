"""The records transforms and generators pass around: a seed in, a variant or a drop out."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

# A message as samples store it: {"role", "content"[, "tool_calls", "tool_call_id", "name"]}.
Message = Mapping[str, Any]


class DropReason(StrEnum):
    """Why a candidate never became a proposed sample. ``AugmentRun.counts["dropped"]`` keys."""

    NOT_APPLICABLE = "not_applicable"  # nothing for the transform to work on (one sentence, no entity)
    NO_CHANGE = "no_change"  # the transform produced the seed's text again
    CONTRACT_JSON = "contract_json"  # the answer no longer parses, or its fields / schema changed
    CONTRACT_REFUSAL = "contract_refusal"  # a must-refuse answer no longer reads as a refusal (or vice versa)
    CONTRACT_ANCHORS = "contract_anchors"  # an identifier the answer relies on is gone from the input
    CONTRACT_PROMPT = "contract_prompt"  # the system prompt or the turn structure changed
    PARAPHRASE_TIMEOUT = "paraphrase_timeout"
    PARAPHRASE_UNAVAILABLE = "paraphrase_unavailable"  # 5xx or no connection, after retries
    PARAPHRASE_RATE_LIMITED = "paraphrase_rate_limited"  # 429, after retries
    PARAPHRASE_REJECTED = "paraphrase_rejected"  # 4xx: wrong key, unknown model, bad request
    PARAPHRASE_MALFORMED = "paraphrase_malformed"  # a reply that is not a chat completion we can use
    PARAPHRASE_SKIPPED = "paraphrase_skipped"  # the endpoint kept failing; the rest of the run skips it
    INVALID = "invalid"  # a generated pair failed its generator's validator
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"


@dataclass(frozen=True)
class SeedItem:
    """What a transform sees of a seed: the conversation before the answer, and the answer's contract.

    ``json_schema`` is the schema the answer must satisfy (the SOP's, for JSON tasks), or None.
    """

    key: str
    prompt: tuple[Message, ...]
    answer: str
    rejected_answer: str = ""
    output_format: str = "text"
    must_refuse: bool = False
    json_schema: Mapping[str, Any] | None = None

    def with_content(self, prompt: Sequence[Message], answer: str, rejected_answer: str) -> SeedItem:
        return replace(self, prompt=tuple(prompt), answer=answer, rejected_answer=rejected_answer)


@dataclass(frozen=True)
class Variant:
    """A transformed copy of a seed. ``params`` records what the transform chose (tone, ops, counts).

    ``renamed`` maps each value an entity swap replaced to its replacement (never stored: it holds
    content); the contract check follows the answer's identifiers through it.
    """

    prompt: tuple[Message, ...]
    answer: str
    rejected_answer: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    renamed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """No variant. ``detail`` says why in words that never quote the seed's content."""

    reason: DropReason
    detail: str = ""


def last_user_index(prompt: Sequence[Message]) -> int | None:
    """Position of the request being answered: the last user turn."""
    for index in range(len(prompt) - 1, -1, -1):
        if prompt[index].get("role") == "user":
            return index
    return None


def request_text(prompt: Sequence[Message]) -> str:
    """The last user turn's text ("" when there is none)."""
    index = last_user_index(prompt)
    return "" if index is None else str(prompt[index].get("content") or "")


def replace_message(prompt: Sequence[Message], index: int, content: str) -> tuple[Message, ...]:
    return tuple({**m, "content": content} if i == index else m for i, m in enumerate(prompt))


def derived_rng(*parts: object) -> random.Random:
    """A generator fixed by ``parts`` alone, the same in every process (``hash()`` is salted per run)."""
    digest = hashlib.sha256("\0".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
