"""Declarative failure rules: which production traces are worth labeling.

Plain Python, no Django: the syntax is documented in :mod:`flywheel.rules.model`; a service
builds :class:`TraceFacts` with :func:`facts_from` and stores what :func:`evaluate` returns.
"""

from flywheel.rules.evaluate import describe, evaluate, explain, holds
from flywheel.rules.facts import ScoreFact, TraceFacts, facts_from
from flywheel.rules.model import (
    AllOf,
    AnyOf,
    Condition,
    CostCompare,
    HasTag,
    InputRegex,
    InvalidRules,
    LatencyCompare,
    Level,
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
    dump_rules,
    load_rules,
)
from flywheel.rules.serialize import rules_to_data

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "CostCompare",
    "HasTag",
    "InputRegex",
    "InvalidRules",
    "LatencyCompare",
    "Level",
    "LevelAtLeast",
    "Not",
    "Op",
    "OutputNotJson",
    "OutputRegex",
    "OutputSchema",
    "Rule",
    "RuleSet",
    "ScoreCompare",
    "ScoreEquals",
    "ScoreFact",
    "TraceFacts",
    "describe",
    "dump_rules",
    "evaluate",
    "explain",
    "facts_from",
    "holds",
    "load_rules",
    "rules_to_data",
]
