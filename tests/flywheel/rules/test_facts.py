"""Stored trace rows -> the facts rules look at, without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flywheel.rules import ScoreFact, TraceFacts, facts_from


@dataclass
class Trace:
    """Not the Django model: anything with these attributes will do."""

    tags: Any = field(default_factory=list)
    input: Any = None
    output: Any = None
    conversation: Any = field(default_factory=list)
    latency_ms: float | None = None
    total_cost: float | None = None


@dataclass
class Observation:
    level: str = "DEFAULT"
    total_cost: float | None = None


@dataclass
class Score:
    name: str
    value: float | None = None
    string_value: str = ""
    data_type: str = "NUMERIC"


CHAT = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": "second question"},
    {"role": "assistant", "content": '{"answer": 2}'},
]


def test_facts_come_from_the_conversation_the_scores_and_the_observations():
    trace = Trace(tags=["vip"], input={"q": 1}, output="ignored", conversation=CHAT, latency_ms=1200.0)
    facts = facts_from(
        trace,
        [Observation("DEFAULT", 0.01), Observation("error", 0.02), Observation("ERROR")],
        [Score("user-feedback", 0.0, "thumbs-down", "CATEGORICAL"), Score("helpfulness", 0.7)],
    )
    assert facts == TraceFacts(
        tags=("vip",),
        scores=(ScoreFact("user-feedback", 0.0, "thumbs-down"), ScoreFact("helpfulness", 0.7, None)),
        levels=("DEFAULT", "ERROR"),
        input_text="second question",
        output_text='{"answer": 2}',
        latency_ms=1200.0,
        cost=0.03,
    )


def test_without_a_final_assistant_turn_the_trace_io_is_rendered_as_text():
    trace = Trace(input={"question": "é?"}, output=["a", 1], conversation=[{"role": "tool", "content": "x"}])
    facts = facts_from(trace, [], [])
    assert facts.input_text == '{"question": "é?"}'
    assert facts.output_text == '["a", 1]'
    assert facts_from(Trace(output="plain"), [], []).output_text == "plain"
    assert facts_from(Trace(), [], []).output_text == ""


def test_a_conversation_ending_with_the_user_has_no_final_answer():
    trace = Trace(output=None, conversation=CHAT[:4])
    assert facts_from(trace, [], []).output_text == ""


def test_the_trace_cost_wins_and_observation_costs_only_fill_in_for_it():
    observations = [Observation(total_cost=0.5), Observation(total_cost=None)]
    assert facts_from(Trace(total_cost=0.1), observations, []).cost == 0.1
    assert facts_from(Trace(), observations, []).cost == 0.5
    assert facts_from(Trace(), [Observation()], []).cost is None


def test_malformed_stored_json_and_nan_scores_are_skipped_not_fatal():
    trace = Trace(tags="not-a-list", conversation=[None, {"role": "assistant"}, "text"])
    facts = facts_from(trace, [Observation(level="")], [Score("s", float("nan"))])
    assert facts.tags == ()
    assert facts.levels == ()
    assert facts.scores == (ScoreFact("s", None, None),)


def test_facts_accept_a_queryset_like_iterable_read_once():
    facts = facts_from(Trace(), iter([Observation("WARNING", 0.2)]), iter([]))
    assert (facts.levels, facts.cost) == (("WARNING",), 0.2)
