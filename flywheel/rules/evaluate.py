"""Which rules a trace trips. Pure: the same rules and facts always give the same answer."""

from __future__ import annotations

from typing import assert_never

from jsonschema.exceptions import best_match

from flywheel.rules.checks import MAX_REGEX_TEXT
from flywheel.rules.facts import TraceFacts
from flywheel.rules.model import (
    AllOf,
    AnyOf,
    Condition,
    CostCompare,
    HasTag,
    InputRegex,
    LatencyCompare,
    LevelAtLeast,
    Not,
    Op,
    OutputNotJson,
    OutputRegex,
    OutputSchema,
    Rule,
    RuleSet,
    ScoreCompare,
    ScoreEquals,
)

# Langfuse's observation levels, least to most severe; an unknown level counts as DEFAULT.
_SEVERITY = {"DEBUG": 0, "DEFAULT": 1, "WARNING": 2, "ERROR": 3}


def evaluate(ruleset: RuleSet, facts: TraceFacts) -> list[str]:
    """Names of the enabled rules that fire, in the rule set's order."""
    return [rule.name for rule in ruleset if rule.enabled and holds(rule.condition, facts)]


def holds(condition: Condition, facts: TraceFacts) -> bool:
    match condition:
        case ScoreCompare(name, op, value):
            return _matching_score(facts, name, op, value) is not None
        case ScoreEquals(name, equals):
            return any(s.name == name and s.string_value == equals for s in facts.scores)
        case LevelAtLeast(level):
            return _worst_level(facts) >= _SEVERITY[level]
        case HasTag(tag):
            return tag in facts.tags
        case OutputNotJson():
            return not facts.parsed_output.ok
        case OutputSchema():
            return not facts.parsed_output.ok or not condition.validator.is_valid(facts.parsed_output.value)
        case InputRegex(pattern):
            return pattern.search(facts.input_text[:MAX_REGEX_TEXT]) is not None
        case OutputRegex(pattern):
            return pattern.search(facts.output_text[:MAX_REGEX_TEXT]) is not None
        case LatencyCompare(op, value):
            return facts.latency_ms is not None and op.holds(facts.latency_ms, value)
        case CostCompare(op, value):
            return facts.cost is not None and op.holds(facts.cost, value)
        case AllOf(conditions):
            return all(holds(part, facts) for part in conditions)
        case AnyOf(conditions):
            return any(holds(part, facts) for part in conditions)
        case Not(inner):
            return not holds(inner, facts)
        case _:
            assert_never(condition)


def explain(rule: Rule, facts: TraceFacts) -> str:
    """Why ``rule`` fires on these facts (or what it needed, if it does not), for the UI.

    Quotes the observed numbers and the rule's own patterns, never the trace's text.
    """
    if not holds(rule.condition, facts):
        return f"did not fire: needs {describe(rule.condition)}"
    return _why(rule.condition, facts)


def describe(condition: Condition) -> str:
    """The condition in words, independent of any trace."""
    match condition:
        case ScoreCompare(name, op, value):
            return f"score {name} {op} {value:g}"
        case ScoreEquals(name, equals):
            return f"score {name} = {equals!r}"
        case LevelAtLeast(level):
            return f"an observation at level {level} or worse"
        case HasTag(tag):
            return f"tag {tag!r}"
        case OutputNotJson():
            return "an output that is not JSON"
        case OutputSchema():
            return "an output that fails output_schema"
        case InputRegex(pattern):
            return f"input matching /{pattern.pattern}/"
        case OutputRegex(pattern):
            return f"output matching /{pattern.pattern}/"
        case LatencyCompare(op, value):
            return f"latency {op} {value:g} ms"
        case CostCompare(op, value):
            return f"cost {op} {value:g}"
        case AllOf(conditions):
            return "(" + " and ".join(describe(part) for part in conditions) + ")"
        case AnyOf(conditions):
            return "(" + " or ".join(describe(part) for part in conditions) + ")"
        case Not(inner):
            return f"not {describe(inner)}"
        case _:
            assert_never(condition)


def _why(condition: Condition, facts: TraceFacts) -> str:
    """``condition`` holds on ``facts``: say what made it hold."""
    match condition:
        case ScoreCompare(name, op, value):
            observed = _matching_score(facts, name, op, value)
            return f"score {name} is {observed:g} ({op} {value:g})"
        case LevelAtLeast(level):
            worst = max(facts.levels, key=lambda seen: _SEVERITY.get(seen, 1))
            return f"an observation is at level {worst} ({level} or worse)"
        case OutputNotJson():
            return f"the output is not JSON ({facts.parsed_output.error})"
        case OutputSchema():
            return f"the output fails output_schema: {_schema_error(condition, facts)}"
        case InputRegex(pattern) | OutputRegex(pattern):
            text = facts.input_text if isinstance(condition, InputRegex) else facts.output_text
            found = pattern.search(text[:MAX_REGEX_TEXT])
            where = "input" if isinstance(condition, InputRegex) else "output"
            return f"the {where} matches /{pattern.pattern}/ at character {found.start() if found else 0}"
        case LatencyCompare(op, value):
            return f"latency is {facts.latency_ms:g} ms ({op} {value:g})"
        case CostCompare(op, value):
            return f"cost is {facts.cost:g} ({op} {value:g})"
        case AllOf(conditions) | AnyOf(conditions):
            return "; ".join(_why(part, facts) for part in conditions if holds(part, facts))
        case ScoreEquals(name, equals):
            return f"score {name} is {equals!r}"
        case HasTag(tag):
            return f"the trace is tagged {tag!r}"
        case Not():
            return describe(condition)  # nothing was observed: the inner condition is absent
        case _:
            assert_never(condition)


def _matching_score(facts: TraceFacts, name: str, op: Op, value: float) -> float | None:
    # Any score of that name may trip the rule: a trace can hold several (per observation, re-runs).
    return next(
        (
            s.value
            for s in facts.scores
            if s.name == name and s.value is not None and op.holds(s.value, value)
        ),
        None,
    )


def _worst_level(facts: TraceFacts) -> int:
    return max((_SEVERITY.get(level, 1) for level in facts.levels), default=0)


def _schema_error(condition: OutputSchema, facts: TraceFacts) -> str:
    """Why the output fails the schema (which it is known to fail)."""
    if not facts.parsed_output.ok:
        return "the output is not JSON"
    error = best_match(condition.validator.iter_errors(facts.parsed_output.value))
    at = "/".join(str(part) for part in error.absolute_path) if error else ""
    # The message may quote a value from the output: cap it, the UI has little room.
    return f"at '/{at}': {error.message[:200] if error else 'invalid'}"
