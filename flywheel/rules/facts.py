"""What a rule can see of a trace, as plain values: the evaluator never touches the ORM.

:func:`facts_from` builds them from anything shaped like the stored models (Trace,
Observation, Score in ``flywheel.models.traces``), so the Django side is one line::

    facts = facts_from(trace, trace.observations.all(), trace.scores.all())
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol


class TraceLike(Protocol):
    @property
    def tags(self) -> Any: ...
    @property
    def input(self) -> Any: ...
    @property
    def output(self) -> Any: ...
    @property
    def conversation(self) -> Any: ...
    @property
    def latency_ms(self) -> float | None: ...
    @property
    def total_cost(self) -> float | None: ...


class ObservationLike(Protocol):
    @property
    def level(self) -> str: ...
    @property
    def total_cost(self) -> float | None: ...


class ScoreLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> float | None: ...
    @property
    def string_value(self) -> str | None: ...


@dataclass(frozen=True)
class ScoreFact:
    name: str
    value: float | None = None  # None: categorical only, or not a number (NaN)
    string_value: str | None = None


@dataclass(frozen=True)
class ParsedOutput:
    """The final answer read as JSON: ``value`` when ``ok``, else why it is not JSON."""

    ok: bool
    value: Any = None
    error: str = ""


@dataclass(frozen=True)
class TraceFacts:
    tags: tuple[str, ...] = ()
    scores: tuple[ScoreFact, ...] = ()
    levels: tuple[str, ...] = ()  # distinct observation levels, upper-case, first seen first
    input_text: str = ""  # the last user turn, else the trace input as text
    # The final answer: the conversation's last turn if it is a non-empty assistant turn, else
    # the trace output as text (JSON for structured output).
    output_text: str = ""
    latency_ms: float | None = None
    cost: float | None = None

    @cached_property
    def parsed_output(self) -> ParsedOutput:
        # Cached: output_not_json and output_schema rules both need it, per trace.
        try:
            return ParsedOutput(ok=True, value=json.loads(self.output_text, parse_constant=_not_json))
        except ValueError as error:
            # JSONDecodeError's message names a position, never the text itself.
            return ParsedOutput(ok=False, error=str(error))


def _not_json(constant: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (and every other parser downstream) does not.
    raise ValueError(f"{constant} is not valid JSON")


def facts_from(
    trace: TraceLike, observations: Iterable[ObservationLike], scores: Iterable[ScoreLike]
) -> TraceFacts:
    observations = tuple(observations)  # read twice; a QuerySet is iterated once
    conversation = _messages(trace.conversation)
    costs = [cost for o in observations if (cost := _number(o.total_cost)) is not None]
    return TraceFacts(
        tags=tuple(tag for tag in _items(trace.tags) if isinstance(tag, str)),
        scores=tuple(
            ScoreFact(name=s.name, value=_number(s.value), string_value=s.string_value or None)
            for s in scores
        ),
        levels=tuple(dict.fromkeys(o.level.upper() for o in observations if o.level)),
        input_text=_last_turn(conversation, "user") or _as_text(trace.input),
        output_text=_final_answer(conversation) or _as_text(trace.output),
        latency_ms=_number(trace.latency_ms),
        # Langfuse usually fills the trace's total; when it did not, the observations' sum is it.
        cost=_number(trace.total_cost) if trace.total_cost is not None else (sum(costs) if costs else None),
    )


def _items(value: Any) -> list[Any]:
    # Stored JSON: a malformed field is skipped rather than failing the whole evaluation.
    return list(value) if isinstance(value, list | tuple) else []


def _messages(conversation: Any) -> list[Mapping[str, Any]]:
    return [m for m in _items(conversation) if isinstance(m, Mapping) and isinstance(m.get("content"), str)]


def _last_turn(conversation: Sequence[Mapping[str, Any]], role: str) -> str | None:
    return next((m["content"] for m in reversed(conversation) if m.get("role") == role), None)


def _final_answer(conversation: Sequence[Mapping[str, Any]]) -> str | None:
    # Same reading as ingest.conversation.final_answer: a chat that ends with the user (or a
    # tool result) has no answer, so an earlier assistant turn must not stand in for one.
    if conversation and conversation[-1].get("role") == "assistant":
        return str(conversation[-1]["content"])
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)
