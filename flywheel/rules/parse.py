"""Plain data -> RuleSet. The syntax itself is documented in :mod:`flywheel.rules.model`.

Parsing never stops at the first problem: a user fixing a rules file sees every mistake at
once, each as one line "rule 'name': field.path what is wrong (got ...)".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from flywheel.rules.checks import compile_regex, schema_validator
from flywheel.rules.model import (
    MAX_NAME_LENGTH,
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
)

_RULE_FIELDS = ("name", "description", "enabled")
_OP_VALUES = tuple(op.value for op in Op)
_OPS = ", ".join(_OP_VALUES)

# (path, what is wrong): the caller knows which rule it is reporting for.
Report = Callable[[str, str], None]


def parse_rules(data: Any) -> RuleSet:
    """A RuleSet from plain data (parsed YAML or JSON), or InvalidRules listing every problem."""
    problems: list[str] = []
    if data is None:
        raise InvalidRules(["the rules file is empty (a project without rules writes: rules: [])"])
    if not isinstance(data, Mapping):
        raise InvalidRules([f"the rules file must be a mapping with a 'rules' list (got {got(data)})"])
    for key in data:
        if key != "rules":
            problems.append(f"the rules file has an unknown key {key!r}{suggest(key, ['rules'])}")
    listed = data.get("rules")
    if not isinstance(listed, list):
        raise InvalidRules([*problems, f"rules must be a list of rules (got {got(listed)})"])
    rules = [_rule(item, index, problems) for index, item in enumerate(listed)]
    # Raw names, so a repeated name is reported even where the rule has other problems too.
    positions: dict[str, list[int]] = {}
    for index, item in enumerate(listed):
        if isinstance(item, Mapping) and isinstance(name := item.get("name"), str):
            positions.setdefault(name, []).append(index)
    for name, at in positions.items():
        if len(at) > 1:
            where = ", ".join(f"rules[{index}]" for index in at)
            problems.append(f"rule {name!r}: the name is used more than once ({where})")
    if problems:
        raise InvalidRules(problems)
    return RuleSet(tuple(rule for rule in rules if rule is not None))


def _rule(item: Any, index: int, problems: list[str]) -> Rule | None:
    if not isinstance(item, Mapping):
        problems.append(f"rules[{index}] must be a mapping with a name and a condition (got {got(item)})")
        return None
    raw_name = item.get("name")
    name = raw_name if isinstance(raw_name, str) and raw_name.strip() else None
    label = f"rule {name!r}" if name else f"rules[{index}]"
    before = len(problems)

    def report(path: str, text: str) -> None:
        problems.append(f"{label}: {path} {text}" if path else f"{label}: {text}")

    if "name" not in item:
        report("name", "is required")
    elif name is None or name != name.strip() or len(name) > MAX_NAME_LENGTH:
        limits = f"1-{MAX_NAME_LENGTH} characters without surrounding spaces"
        quote = "" if isinstance(raw_name, str) else "; quote it in YAML"  # `name: off` is false
        report("name", f"must be {limits} (got {got(raw_name)}){quote}")
    description = item.get("description", "")
    if not isinstance(description, str):
        report("description", f"must be text (got {got(description)})")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        report("enabled", f"must be true or false (got {got(enabled)})")
    condition = _condition(item, "", report, extra_keys=_RULE_FIELDS)
    if condition is None or name is None or len(problems) > before:
        return None
    return Rule(name=name, condition=condition, description=description, enabled=enabled)


def _condition(
    node: Mapping[str, Any], path: str, report: Report, extra_keys: tuple[str, ...] = ()
) -> Condition | None:
    kinds = [key for key in node if key in _KINDS]
    for key in node:
        if key not in _KINDS and key not in extra_keys:
            expected = [*extra_keys, *_KINDS]
            report(_join(path, str(key)), f"is not a known key{suggest(key, expected)}")
    if not kinds:
        report(path, f"has no condition (add one of: {', '.join(_KINDS)})")
        return None
    if len(kinds) > 1:
        report(path, f"has {len(kinds)} conditions ({', '.join(kinds)}); combine them with all or any")
        return None
    kind = kinds[0]
    return _KINDS[kind](node[kind], _join(path, kind), report)


def _score(value: Any, path: str, report: Report) -> Condition | None:
    if not _keys(value, path, report, required=("name",), optional=("op", "value", "equals")):
        return None
    name = _text(value["name"], f"{path}.name", report)
    if "equals" in value:
        if "op" in value or "value" in value:
            report(path, "takes either op and value, or equals, not both")
            return None
        equals = _text(value["equals"], f"{path}.equals", report)
        return None if name is None or equals is None else ScoreEquals(name, equals)
    if "op" not in value and "value" not in value:
        report(path, "needs op and value (a numeric score) or equals (a categorical one)")
        return None
    bound = _compare(value, path, report)
    return None if name is None or bound is None else ScoreCompare(name, *bound)


def _bound(make: Callable[[Op, float], Condition]) -> Callable[[Any, str, Report], Condition | None]:
    def parse(value: Any, path: str, report: Report) -> Condition | None:
        if isinstance(value, Mapping) and len(value) == 1 and (op := next(iter(value))) in _OP_VALUES:
            # The natural shorthand, {">": 5000}, is not the syntax: say what is.
            report(path, f'must be written {{op: "{op}", value: {got(value[op])}}}')
            return None
        if not _keys(value, path, report, required=("op", "value"), optional=()):
            return None
        bound = _compare(value, path, report)
        return None if bound is None else make(*bound)

    return parse


def _compare(value: Mapping[str, Any], path: str, report: Report) -> tuple[Op, float] | None:
    """The op and value of a comparison; both are reported when both are wrong."""
    op: Any = value.get("op")
    number: Any = value.get("value")
    op_ok = op in _OP_VALUES  # a tuple, not a set: the value may be unhashable (a list)
    number_ok = isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number)
    if "op" not in value:
        report(f"{path}.op", "is required")
    elif not op_ok:
        report(f"{path}.op", f"must be one of {_OPS} (got {got(op)}); quote it in YAML")
    if "value" not in value:
        report(f"{path}.value", "is required")
    elif not number_ok:
        report(f"{path}.value", f"must be a finite number (got {got(number)})")
    return (Op(op), float(number)) if op_ok and number_ok else None


def _level(value: Any, path: str, report: Report) -> Condition | None:
    if isinstance(value, str) and value.upper() in tuple(Level):
        return LevelAtLeast(Level(value.upper()))
    report(path, f"must be ERROR or WARNING (got {got(value)})")
    return None


def _tag(value: Any, path: str, report: Report) -> Condition | None:
    tag = _text(value, path, report)
    return None if tag is None else HasTag(tag)


def _not_json(value: Any, path: str, report: Report) -> Condition | None:
    if value is True:
        return OutputNotJson()
    report(path, f"must be true (got {got(value)}); to flag JSON output write not: {{output_not_json: true}}")
    return None


def _schema(value: Any, path: str, report: Report) -> Condition | None:
    if not isinstance(value, Mapping):
        report(path, f"must be a JSON Schema mapping (got {got(value)})")
        return None
    try:
        schema_validator(value)  # checked here for a message with the rule's name and path
    except ValueError as error:
        report(path, str(error))
        return None
    return OutputSchema(dict(value))


def _regex(make: Callable[[Any], Condition]) -> Callable[[Any, str, Report], Condition | None]:
    def parse(value: Any, path: str, report: Report) -> Condition | None:
        if (text := _text(value, path, report)) is None:
            return None
        try:
            return make(compile_regex(text))
        except ValueError as error:
            report(path, str(error))
            return None

    return parse


def _combine(
    make: Callable[[tuple[Condition, ...]], Condition],
) -> Callable[[Any, str, Report], Condition | None]:
    def parse(value: Any, path: str, report: Report) -> Condition | None:
        if not isinstance(value, list) or not value:
            report(path, f"must be a non-empty list of conditions (got {got(value)})")
            return None
        parts = [_nested(item, f"{path}[{index}]", report) for index, item in enumerate(value)]
        if any(part is None for part in parts):
            return None
        return make(tuple(part for part in parts if part is not None))

    return parse


def _not(value: Any, path: str, report: Report) -> Condition | None:
    inner = _nested(value, path, report)
    return None if inner is None else Not(inner)


def _nested(value: Any, path: str, report: Report) -> Condition | None:
    if not isinstance(value, Mapping):
        report(path, f"must be a condition mapping (got {got(value)})")
        return None
    return _condition(value, path, report)


# The YAML key of each condition kind, in the order error messages list them.
_KINDS: dict[str, Callable[[Any, str, Report], Condition | None]] = {
    "score": _score,
    "level": _level,
    "tag": _tag,
    "output_not_json": _not_json,
    "output_schema": _schema,
    "input_regex": _regex(InputRegex),
    "output_regex": _regex(OutputRegex),
    "latency_ms": _bound(LatencyCompare),
    "cost": _bound(CostCompare),
    "all": _combine(AllOf),
    "any": _combine(AnyOf),
    "not": _not,
}


def _keys(
    value: Any, path: str, report: Report, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> bool:
    """Whether ``value`` is a mapping with the required keys and no others (reporting why not)."""
    if not isinstance(value, Mapping):
        report(path, f"must be a mapping with {', '.join(required + optional)} (got {got(value)})")
        return False
    fine = True
    for key in value:
        if key not in required + optional:
            report(_join(path, str(key)), f"is not a known key{suggest(key, required + optional)}")
            fine = False
    for key in required:
        if key not in value:
            report(f"{path}.{key}", "is required")
            fine = False
    return fine


def _text(value: Any, path: str, report: Report) -> str | None:
    if isinstance(value, str) and value:
        return value
    quote = "" if isinstance(value, str) else "; quote it in YAML"  # `tag: yes` is true, `tag: 3` a number
    report(path, f"must be a non-empty string (got {got(value)}){quote}")
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def suggest(key: Any, known: Any) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def got(value: Any) -> str:
    """A short, readable account of a bad value: the value itself only when it is small."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else "a long string"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, Mapping) else "a value"
