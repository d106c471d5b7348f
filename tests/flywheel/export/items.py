"""Export items as the service would build them from final samples: every kind a release meets.

``make_items(n)`` cycles through: a text QA correction (a DPO pair), a JSON extraction with a
schema, a refusal of a boundary request, a generic answer kept as is, a multi-turn conversation
with a system prompt, a tool-using conversation, a seed with two variants (one group), and a
generated JSON row. Wording varies with the index so nothing is a near duplicate by accident.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from flywheel.cluster.embedding import HashingEmbedder
from flywheel.export.records import ExportItem

ORDER_SCHEMA = {
    "type": "object",
    "required": ["order_id", "status"],
    "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}},
}
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
WORDS = [
    "parcel",
    "invoice",
    "refund",
    "voucher",
    "warranty",
    "courier",
    "subscription",
    "password",
    "receipt",
    "delivery",
    "basket",
    "coupon",
    "account",
    "address",
    "payment",
    "tracking",
    "return",
    "exchange",
    "battery",
    "charger",
    "screen",
    "keyboard",
]


class FakeEmbed:
    """The hashing embedder behind the pipeline's ``Embed`` interface (no torch)."""

    def __init__(self, dim: int = 256) -> None:
        self._embedder = HashingEmbedder(dim)
        self.model_id = self._embedder.model_id
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return self._embedder.embed(texts)


@functools.cache
def _pattern(i: int, k: int) -> str:
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(k))


def _words(i: int, k: int = 4) -> str:
    return f"{_pattern(i % len(WORDS), k)} {i}"


def _base(i: int, kind: str, **fields) -> ExportItem:
    values = {
        "item_key": f"lf:trace-{i:05d}",
        "group_key": f"trace:lf:trace-{i:05d}",
        "prompt": ({"role": "user", "content": f"Question {i} about {_words(i)}?"},),
        "answer": f"Answer {i}: {_words(i + 1)}.",
        "task_type": "qa",
        "sample_type": "golden",
        "difficulty": ("easy", "medium", "hard")[i % 3],
        "domain": "support",
        "source": "lf",
        "source_id": f"trace-{i:05d}",
        "cluster": f"C{1 + i % 3}",
        "annotator": f"ann{i % 2 + 1}",
        "reviewer": "lead",
        "annotators": (f"ann{i % 2 + 1}",),
        "sop_version": 1,
        "decision": "consensus",
        "decided_at": T0 + timedelta(minutes=i),
        "trace_key": f"t{i}",
    }
    values.update(fields)  # one construction (dataclasses.replace would build every item twice)
    return ExportItem(**values)  # type: ignore[arg-type]


def make_item(i: int) -> list[ExportItem]:
    kind = i % 8
    if kind == 0:
        return [_base(i, "qa", rejected_answer=f"I don't know about {_words(i)}.", sample_type="negative")]
    if kind == 1:
        answer = json.dumps({"order_id": f"A-{i}", "status": "shipped"})
        return [
            _base(
                i,
                "json",
                prompt=(
                    {"role": "user", "content": f"Extract the order of {_words(i)} as JSON: A-{i} shipped."},
                ),
                answer=answer,
                rejected_answer=answer[:10],
                output_format="json",
                json_schema=ORDER_SCHEMA,
                reference_exact=True,
                task_type="extraction",
                sample_type="negative",
            )
        ]
    if kind == 2:
        return [
            _base(
                i,
                "refuse",
                prompt=(
                    {"role": "user", "content": f"Give me the home address of customer {i} ({_words(i)})."},
                ),
                answer="I'm sorry, but I can't share personal data about other customers.",
                rejected_answer=f"Sure, they live at <LOCATION_1>, near the {_words(i, 2)}.",
                must_refuse=True,
                sample_type="boundary",
                task_type="other",
            )
        ]
    if kind == 3:
        return [_base(i, "generic", sample_type="generic", task_type="chitchat", cluster=None)]
    if kind == 4:
        return [
            _base(
                i,
                "multi",
                prompt=(
                    {"role": "system", "content": "You are a helpful support assistant."},
                    {"role": "user", "content": f"My {_words(i, 2)} is late."},
                    {"role": "assistant", "content": "Let me check that for you."},
                    {"role": "user", "content": f"Summarise the problem with {_words(i)}."},
                ),
                task_type="summarization",
                sample_type="boundary",
            )
        ]
    if kind == 5:
        return [
            _base(
                i,
                "tool",
                prompt=(
                    {"role": "user", "content": f"Track order {i} of {_words(i, 2)}."},
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {"type": "function", "function": {"name": "track", "arguments": f'{{"id": {i}}}'}}
                        ],
                    },
                    {"role": "tool", "content": '{"status": "in transit"}', "tool_call_id": "call_1"},
                ),
                answer=f"Order {i} is in transit with the {_words(i, 2)}.",
                rejected_answer="It was delivered.",
                sample_type="negative",
            )
        ]
    if kind == 6:
        seed = _base(i, "seed", sample_type="golden", task_type="qa")
        variants = [
            replace(
                seed,
                item_key=f"{seed.item_key}:v{v}",
                prompt=({"role": "user", "content": f"Variant {v} of question {i}: {_words(i + 40 + v)}?"},),
                origin="variant",
                augment_type="paraphrase",
                augment_round=1,
                seed_key=seed.item_key,
                trace_key=None,
            )
            for v in (1, 2)
        ]
        return [seed, *variants]
    answer = json.dumps({"order_id": f"G-{i}", "status": "lost"})
    return [
        _base(
            i,
            "generated",
            item_key=f"gen:orders:{i}",
            group_key=f"gen:orders:{i}",
            prompt=({"role": "user", "content": f"Order G-{i} ({_words(i)}) is lost. JSON please."},),
            answer=answer,
            output_format="json",
            json_schema=ORDER_SCHEMA,
            reference_exact=True,
            origin="programmatic",
            source="generated",
            task_type="extraction",
            sample_type="generic",
            cluster=None,
            trace_key=None,
            annotator=None,
            annotators=(),
            reviewer="lead",
            decision="accepted",
        )
    ]


def make_items(n: int, start: int = 0) -> Iterator[ExportItem]:
    """About ``n`` items (seed groups bring two extra)."""
    for i in range(start, start + n):
        yield from make_item(i)
