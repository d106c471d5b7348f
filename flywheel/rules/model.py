"""Failure rules: which production traces are worth labeling.

A project keeps its rules as YAML (usually in git). Every kind of condition, in full::

    rules:
      - name: thumbs-down                  # unique, 1-100 characters; recorded on flagged traces
        description: The user clicked thumbs-down.    # optional
        score: {name: user-feedback, op: "<", value: 1}
      - name: feedback-category
        score: {name: user-feedback, equals: thumbs-down}   # categorical score (string value)
      - name: errored
        level: ERROR                       # an observation at ERROR
      - name: warned
        level: WARNING                     # an observation at WARNING *or worse* (ERROR too)
      - name: escalated
        tag: escalated                     # the trace carries this tag
      - name: broken-json
        output_not_json: true
      - name: wrong-shape
        output_schema:                     # JSON Schema the parsed final answer must satisfy
          type: object
          required: [answer]
          properties:
            answer: {type: string}
            sources: {type: array, items: {$ref: "#/$defs/source"}}
          $defs:
            source: {type: object, required: [url]}
      - name: prompt-injection
        input_regex: "(?i)ignore (all )?previous instructions"
      - name: address-leak
        enabled: false                     # kept in the file, never fires
        output_regex: "(?i)lives at"
      - name: slow
        latency_ms: {op: ">", value: 5000}
      - name: expensive
        cost: {op: ">=", value: 0.25}      # the trace's total cost, in the currency Langfuse reports
      - name: slow-and-unhappy
        all:
          - latency_ms: {op: ">", value: 5000}
          - score: {name: helpfulness, op: "<", value: 0.5}
      - name: refusal-leak
        any:
          - output_regex: "(?i)lives at"
          - tag: escalated
      - name: unhappy-but-not-escalated
        all:
          - score: {name: user-feedback, equals: thumbs-down}
          - not: {tag: escalated}

Each rule has a ``name``, optionally ``description`` and ``enabled``, and exactly one condition;
``all`` / ``any`` (non-empty lists) and ``not`` (one condition) combine conditions and nest.
What each condition looks at (:class:`flywheel.rules.facts.TraceFacts`):

- ``score``: ``op`` is one of ``<  <=  >  >=  ==  !=`` and must be quoted in YAML (``>`` and
  ``!`` mean something there). It fires if *any* score with that name satisfies it; a trace
  without such a score (or with only a categorical value) does not fire. ``equals`` compares
  the score's string value exactly (case-sensitive).
- ``level``: ``WARNING`` or ``ERROR`` (any case); "at that level or worse".
- ``tag``: exact, case-sensitive.
- The *input* is the conversation's last user turn, else the trace input as text; the *output*
  (final answer) is the conversation's last turn if it is a non-empty assistant turn, else the
  trace output as text (structured output as JSON). Both were PII-scrubbed at ingest.
- ``output_not_json`` (only ``true``): the output is not one JSON value (an empty answer, prose,
  JSON inside a Markdown fence, NaN). ``output_schema``: a non-JSON output fails it too;
  ``format`` is not asserted; ``$ref`` must point inside the schema; no ``$schema`` means
  draft 2020-12.
- ``input_regex`` / ``output_regex``: Python ``re`` syntax, searched (not anchored) in the first
  10,000 characters. Write ``(?i)`` for case-insensitive. Nested unbounded repeats like
  ``(a+)+`` are refused (exponential backtracking); ``(?>...)`` and ``a++`` are fine.
- ``latency_ms`` / ``cost``: same ``op`` as scores; the trace's latency in milliseconds and its
  total cost (else the sum of its observations' costs). A trace without the value does not fire.

``not`` inverts everything, including a missing value: ``not: {latency_ms: {op: ">", value: 1}}``
fires on a trace with no latency.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from flywheel.errors import InvalidInput
from flywheel.rules.checks import schema_validator

MAX_NAME_LENGTH = 100
HINT = "Fix the listed fields; the rule syntax is documented in flywheel/rules/model.py."


class Op(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="

    def holds(self, left: float, right: float) -> bool:
        return _OPERATORS[self](left, right)


_OPERATORS: dict[Op, Callable[[float, float], bool]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
}


class Level(StrEnum):
    """Observation levels a rule can ask for; Langfuse's DEBUG and DEFAULT are not failures."""

    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class ScoreCompare:
    name: str
    op: Op
    value: float


@dataclass(frozen=True)
class ScoreEquals:
    name: str
    equals: str


@dataclass(frozen=True)
class LevelAtLeast:
    level: Level


@dataclass(frozen=True)
class HasTag:
    tag: str


@dataclass(frozen=True)
class OutputNotJson:
    pass


@dataclass(frozen=True)
class OutputSchema:
    schema: Mapping[str, Any]
    # Built once here, so evaluation never re-reads the schema; left out of equality.
    validator: Any = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            validator = schema_validator(self.schema)
        except ValueError as error:
            raise InvalidInput(f"output_schema {error}") from None
        object.__setattr__(self, "validator", validator)


@dataclass(frozen=True)
class InputRegex:
    pattern: re.Pattern[str]  # compiled patterns compare equal by source and flags


@dataclass(frozen=True)
class OutputRegex:
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class LatencyCompare:
    op: Op
    value: float


@dataclass(frozen=True)
class CostCompare:
    op: Op
    value: float


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    condition: Condition


Condition: TypeAlias = (
    ScoreCompare
    | ScoreEquals
    | LevelAtLeast
    | HasTag
    | OutputNotJson
    | OutputSchema
    | InputRegex
    | OutputRegex
    | LatencyCompare
    | CostCompare
    | AllOf
    | AnyOf
    | Not
)


@dataclass(frozen=True)
class Rule:
    name: str
    condition: Condition
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class RuleSet:
    """A project's rules, in file order (which is the order fired rules are reported in)."""

    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        names = [rule.name for rule in self.rules]
        if duplicates := sorted({name for name in names if names.count(name) > 1}):
            raise InvalidRules([f"rule {name!r}: the name is used more than once" for name in duplicates])

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.rules)


class InvalidRules(InvalidInput):
    """Rules that do not load. ``problems`` holds one line per mistake (for form errors)."""

    def __init__(self, problems: list[str]) -> None:
        many = f"{len(problems)} problems in the rules:\n- " if len(problems) > 1 else ""
        super().__init__(many + "\n- ".join(problems), hint=HINT)
        self.problems = tuple(problems)


def load_rules(source: str | Mapping[str, Any]) -> RuleSet:
    """Rules from YAML text or an already parsed mapping (e.g. a JSONField).

    Raises one :class:`InvalidInput` listing every problem, each naming the rule and field.
    """
    # Imported here: both modules build the classes above.
    from flywheel.rules.parse import parse_rules
    from flywheel.rules.serialize import read_yaml

    return parse_rules(read_yaml(source) if isinstance(source, str) else source)


def dump_rules(ruleset: RuleSet) -> str:
    """YAML text that :func:`load_rules` reads back into an equal RuleSet."""
    from flywheel.rules.serialize import format_rules

    return format_rules(ruleset)
