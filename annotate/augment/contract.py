"""The answer contract a variant must keep: change the input's wording, never the task.

Checked for every variant after its transform and after PII scrubbing, before dedup:

1. The turn structure and the system prompt are the seed's (same roles, same system text).
2. A JSON task's answer still parses and has exactly the seed's *shape*: the same keys at every
   level, the same value types, the same list lengths; and it satisfies the task's JSON Schema
   when there is one. (Values may change: an entity swap changes an order number.)
3. A must-refuse seed's answer still reads as a refusal, and a helpful answer does not turn into
   one (:func:`annotate.labeling.is_refusal`).
4. Every identifier the seed's answer took from its input (an order number, ``<PERSON_1>``) is
   still in the variant's input and answer, in its swapped form where an entity swap renamed it
   (:attr:`Variant.renamed`).

The service checks a variant before PII scrubbing (which replaces a value in the input and the
answer alike) and checks the JSON contract once more after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from jsonschema.exceptions import best_match

from annotate.augment.records import Drop, DropReason, Message, SeedItem, Variant
from annotate.augment.text import grounded_anchors
from annotate.labeling.coerce import parse_json
from annotate.labeling.refusal import is_refusal
from flywheel.rules.checks import schema_validator

STRUCTURE_CHANGED = "the turns or the system prompt changed"
NOT_JSON = "the answer of a JSON task no longer parses"
SHAPE_CHANGED = "the answer's JSON fields or types changed"
SCHEMA_BROKEN = "the answer does not satisfy the task's JSON Schema at '{path}'"
REFUSAL_LOST = "a must-refuse answer no longer reads as a refusal"
REFUSAL_GAINED = "a helpful answer now reads as a refusal"
ANCHORS_LOST = "the input lost {n} identifier(s) the answer relies on"


def check_contract(seed: SeedItem, variant: Variant) -> Drop | None:
    """None when the variant keeps the seed's contract, else the :class:`Drop` that says why."""
    if _structure(seed.prompt) != _structure(variant.prompt):
        return Drop(DropReason.CONTRACT_PROMPT, STRUCTURE_CHANGED)
    if seed.output_format == "json" and not seed.must_refuse:
        problem = json_contract(seed.answer, variant.answer, seed.json_schema)
        if problem:
            return Drop(DropReason.CONTRACT_JSON, problem)
    if seed.must_refuse and not is_refusal(variant.answer):
        return Drop(DropReason.CONTRACT_REFUSAL, REFUSAL_LOST)
    if not seed.must_refuse and is_refusal(variant.answer) and not is_refusal(seed.answer):
        return Drop(DropReason.CONTRACT_REFUSAL, REFUSAL_GAINED)
    inputs = "\n".join(_inputs(variant.prompt))
    lost = [
        anchor
        for anchor in grounded_anchors(_inputs(seed.prompt), seed.answer)
        if (now := variant.renamed.get(anchor, anchor)) not in inputs or now not in variant.answer
    ]
    if lost:
        return Drop(DropReason.CONTRACT_ANCHORS, ANCHORS_LOST.format(n=len(lost)))
    return None


def json_contract(seed_answer: str, answer: str, schema: Mapping[str, Any] | None) -> str | None:
    """What is wrong with ``answer`` against the seed's JSON answer, or None."""
    try:
        document = parse_json(answer)
    except ValueError:
        return NOT_JSON
    try:
        original = parse_json(seed_answer)
    except ValueError:
        original = None  # the seed itself was not JSON (should not happen for a final label): schema only
    if original is not None and json_shape(original) != json_shape(document):
        return SHAPE_CHANGED
    if schema is not None:
        return schema_problem(document, schema)
    return None


def schema_problem(document: Any, schema: Mapping[str, Any]) -> str | None:
    failure = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(document))
    if failure is None:
        return None
    return SCHEMA_BROKEN.format(path="/" + "/".join(str(part) for part in failure.absolute_path))


@lru_cache(maxsize=32)
def _validator(schema_text: str) -> Any:
    # Checking a schema (and its $refs) costs more than validating one answer against it.
    return schema_validator(json.loads(schema_text))


def json_shape(value: Any) -> Any:
    """Keys and types, not values: ``{"a": [1, "x"]}`` -> ``{"a": ["number", "string"]}``."""
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_shape(item) for item in value]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def _structure(prompt: Sequence[Message]) -> list[tuple[str, str]]:
    return [
        (str(m.get("role")), str(m.get("content") or "") if m.get("role") == "system" else "") for m in prompt
    ]


def _inputs(prompt: Sequence[Message]) -> list[str]:
    return [str(m.get("content") or "") for m in prompt if m.get("role") != "system"]
