"""What a final label becomes in the reviewed set: the prompt, the golden answer, the rejected one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotate.agreement.consensus import normalise
from annotate.labeling.model import LabelSchema, Prefill

ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class SampleContent:
    prompt: list[dict[str, Any]]  # messages before the answer: {"role", "content"[, "tool_calls", ...]}
    answer: str  # the golden answer
    rejected_answer: str  # the model's answer when it differs from the golden one, else ""
    content_hash: str


def answer_field(schema: LabelSchema) -> str | None:
    """The field that holds the corrected answer (``prefill: model_answer``), if the schema has one."""
    return next((f.name for f in schema.fields if f.prefill is Prefill.MODEL_ANSWER), None)


def sample_content(
    *,
    schema: LabelSchema,
    values: Mapping[str, Any],
    conversation: Sequence[Mapping[str, Any]],
    model_answer: str,
) -> SampleContent:
    """The conversation minus its final assistant turn is the prompt; the answer is the corrected one.

    A label without an answer field (or with it left empty) keeps the model's answer: the
    annotator judged it good as it stands.
    """
    turns = [dict(m) for m in conversation if m.get("role") in ROLES]
    if turns and turns[-1].get("role") == "assistant":
        turns = turns[:-1]
    prompt = [_plain_message(m) for m in turns]
    name = answer_field(schema)
    answer = str(values.get(name) or "") if name else ""
    answer = answer if answer.strip() else model_answer
    differs = normalise(answer, text=True) != normalise(model_answer, text=True)
    rejected = model_answer if differs and model_answer.strip() else ""
    return SampleContent(prompt, answer, rejected, content_hash(prompt, answer))


def content_hash(prompt: Sequence[Mapping[str, Any]], answer: str) -> str:
    body = json.dumps([list(prompt), answer], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _plain_message(message: Mapping[str, Any]) -> dict[str, Any]:
    out = {"role": message["role"], "content": str(message.get("content") or "")}
    for key in ("tool_calls", "tool_call_id", "name"):
        if message.get(key):
            out[key] = message[key]
    return out
