"""Paraphrase of the request through an OpenAI-compatible chat endpoint (off unless configured).

The model is asked to reword the last user turn and keep every identifier; its reply is then
held to rules before it counts (the domain notes' "rewrite with a stronger model, then filter
by rules"): it must be a clean chat completion, differ from the request, keep every identifier
(digits, placeholders) of the request, and not balloon (a model that *answers* the request
instead of rewording it writes far more than was asked).

An endpoint failure drops this one variant with its reason (:mod:`annotate.augment.client`),
never the run. After ``max_failures`` failures in a row the endpoint is taken as down: the rest
of the run's paraphrases are dropped as ``paraphrase_skipped`` without a request, so a dead
endpoint costs a few timeouts rather than one per seed. Deterministic as far as the endpoint
is: the same request goes out with the same ``seed`` and ``temperature``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from annotate.augment.client import ChatClient, ChatError
from annotate.augment.params import Params
from annotate.augment.records import Drop, DropReason, SeedItem, Variant, last_user_index, replace_message
from annotate.augment.text import anchors

INSTRUCTION = (
    "Rewrite the user's message so that it asks for exactly the same thing in different words. "
    "Keep its language. Keep every number, identifier, code, name, quoted text and placeholder such "
    "as <PERSON_1> exactly as written. Do not answer the message and do not add facts. "
    "Reply with the rewritten message only."
)
# A rewording is about as long as the original; a reply this much longer is an answer or a ramble.
MAX_GROWTH = 2.5
MAX_GROWTH_SLACK = 200
_QUOTES = (('"', '"'), ("\u201c", "\u201d"), ("'", "'"), ("\u300c", "\u300d"))


class Paraphrase:
    name = "paraphrase"

    def __init__(
        self,
        client: ChatClient | None,
        *,
        temperature: float = 0.7,
        model: str | None = None,
        instruction: str = INSTRUCTION,
        max_failures: int = 5,
    ) -> None:
        self.client = client
        self.temperature = temperature
        self.model = model
        self.instruction = instruction
        self.max_failures = max_failures
        self._failures_in_a_row = 0

    @classmethod
    def from_params(cls, params: Params, client: ChatClient | None) -> Paraphrase:
        temperature = params.number("temperature", 0.7, low=0.0, high=2.0)
        model = params.text("model", "") if "model" in params.raw else None
        instruction = params.text("instruction", INSTRUCTION)
        max_failures = params.number("max_failures", 5, low=1, high=100, whole=True)
        params.finish()
        return cls(
            client, temperature=temperature, model=model, instruction=instruction, max_failures=max_failures
        )

    @property
    def settings(self) -> Mapping[str, Any]:
        model = self.model or (self.client.config.model if self.client else None)
        custom = self.instruction != INSTRUCTION
        return {"temperature": self.temperature, "model": model, "custom_instruction": custom}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        index = last_user_index(item.prompt)
        if index is None:
            return Drop(DropReason.NOT_APPLICABLE, "the prompt has no user turn")
        text = str(item.prompt[index].get("content") or "").strip()
        if not text:
            return Drop(DropReason.NOT_APPLICABLE, "the request is empty")
        seed = rng.randrange(2**31)  # drawn before any early return: later variants stay put
        if self.client is None or self._failures_in_a_row >= self.max_failures:
            return Drop(DropReason.PARAPHRASE_SKIPPED, "the endpoint is not configured or kept failing")
        messages = [{"role": "system", "content": self.instruction}, {"role": "user", "content": text}]
        try:
            reply = self.client.complete(messages, temperature=self.temperature, seed=seed, model=self.model)
        except ChatError as error:
            if error.reason is not DropReason.PARAPHRASE_MALFORMED:
                self._failures_in_a_row += 1
            return Drop(error.reason, error.detail)
        self._failures_in_a_row = 0
        reply = _unquote(reply)
        if len(reply) > MAX_GROWTH * len(text) + MAX_GROWTH_SLACK:
            return Drop(DropReason.PARAPHRASE_MALFORMED, "the reply is far longer than the request")
        if reply == text:
            return Drop(DropReason.NO_CHANGE, "the endpoint returned the request unchanged")
        lost = anchors(text) - anchors(reply)
        if lost:
            return Drop(DropReason.CONTRACT_ANCHORS, f"the paraphrase lost {len(lost)} identifier(s)")
        return Variant(
            replace_message(item.prompt, index, reply), item.answer, item.rejected_answer, {"seed": seed}
        )


def _unquote(text: str) -> str:
    for left, right in _QUOTES:
        if len(text) > 2 and text.startswith(left) and text.endswith(right) and left not in text[1:-1]:
            return text[1:-1].strip()
    return text
