"""RuleSet <-> YAML text. PyYAML's safe loader, made to refuse repeated keys."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

from flywheel.rules.model import (
    AllOf,
    AnyOf,
    Condition,
    CostCompare,
    HasTag,
    InputRegex,
    InvalidRules,
    LatencyCompare,
    LevelAtLeast,
    Not,
    OutputNotJson,
    OutputRegex,
    OutputSchema,
    Rule,
    RuleSet,
    ScoreCompare,
    ScoreEquals,
)


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a rule with two `score:` would lose one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, Hashable):
                continue  # the base class refuses it with its own message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise InvalidRules(
            [f"the rules are not valid YAML: {error.problem or error.context}{where}"]
        ) from None
    except yaml.YAMLError as error:
        raise InvalidRules([f"the rules are not valid YAML: {error}"]) from None
    except RecursionError:  # PyYAML recurses per nesting level
        raise InvalidRules(["the rules are nested too deeply to read (hundreds of levels)"]) from None


def rules_to_data(ruleset: RuleSet) -> dict[str, Any]:
    """Plain data (JSON- and YAML-able) that :func:`parse_rules` reads back into an equal RuleSet."""
    return {"rules": [_rule_data(rule) for rule in ruleset]}


class _Dumper(yaml.SafeDumper):
    """Unicode stays readable (allow_unicode), except for the three line breaks beyond \\n.

    PyYAML writes NEL, LS and PS raw inside quoted scalars, and reads them back as a folded
    space: double quotes make it escape them (\\N, \\L, \\P).
    """


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def format_rules(ruleset: RuleSet) -> str:
    return yaml.dump(rules_to_data(ruleset), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _rule_data(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = {"name": rule.name}
    if rule.description:
        data["description"] = rule.description
    if not rule.enabled:
        data["enabled"] = False
    return data | _condition_data(rule.condition)


def _condition_data(condition: Condition) -> dict[str, Any]:
    match condition:
        case ScoreCompare(name, op, value):
            return {"score": {"name": name, "op": op.value, "value": _number(value)}}
        case ScoreEquals(name, equals):
            return {"score": {"name": name, "equals": equals}}
        case LevelAtLeast(level):
            return {"level": level.value}
        case HasTag(tag):
            return {"tag": tag}
        case OutputNotJson():
            return {"output_not_json": True}
        case OutputSchema(schema):
            return {"output_schema": dict(schema)}
        case InputRegex(pattern):
            return {"input_regex": pattern.pattern}
        case OutputRegex(pattern):
            return {"output_regex": pattern.pattern}
        case LatencyCompare(op, value):
            return {"latency_ms": {"op": op.value, "value": _number(value)}}
        case CostCompare(op, value):
            return {"cost": {"op": op.value, "value": _number(value)}}
        case AllOf(conditions):
            return {"all": [_condition_data(part) for part in conditions]}
        case AnyOf(conditions):
            return {"any": [_condition_data(part) for part in conditions]}
        case Not(inner):
            return {"not": _condition_data(inner)}
    raise TypeError(f"unknown condition {condition!r}")


def _number(value: float) -> float | int:
    # 5000 reads better than 5000.0, and loads back as the same float.
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
