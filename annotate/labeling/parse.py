"""Plain data -> LabelSchema. The syntax is documented in :mod:`annotate.labeling.schema`.

Parsing never stops at the first problem: a lead fixing a schema sees every mistake at once,
each as one line "field 'name' (fields[i]): key.path what is wrong (got ...)".

A key set to its "not given" value (null; and false / [] for flags and lists) is the same as
leaving it out, so the explicit dict :func:`schema_to_dict` writes reads back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from annotate.labeling.coerce import is_int, is_number, parses
from annotate.labeling.model import (
    MAX_SHORTCUT_CHOICES,
    ChoicesFrom,
    ConsensusRule,
    FieldType,
    LabelField,
    LabelSchema,
    Prefill,
    Validators,
)
from flywheel.rules.checks import compile_regex, schema_validator
from flywheel.rules.parse import got, suggest  # one wording for bad values across the service

TOP_KEYS: tuple[str, ...] = ("fields", "consensus")
FIELD_KEYS: tuple[str, ...] = (
    *("name", "type", "label", "help", "required", "choices", "choices_from", "ordinal"),
    *("default", "prefill", "shortcut_keys", "validators"),
)
_TEXTS = (FieldType.TEXT, FieldType.JSON)
_NUMBERS = (FieldType.NUMBER, FieldType.INTEGER)
VALIDATOR_TYPES: dict[str, tuple[FieldType, ...]] = {
    "max_length": _TEXTS,
    "regex": _TEXTS,
    "json_schema": _TEXTS,
    "must_parse_json": (FieldType.TEXT,),  # a json field always must parse
    "refusal_when": _TEXTS,
    "min": _NUMBERS,
    "max": _NUMBERS,
}
# Lineage the service records on every sample itself; a field of the same name would clash in exports.
RESERVED_NAMES: tuple[str, ...] = (
    *("source", "source_id", "annotator", "reviewer", "version", "sop_version"),
    *("augment_type", "augment_round"),
)
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TYPES = ", ".join(t.value for t in FieldType)


def parse_fields(data: Any, common_errors: Callable[[], list[str]]) -> tuple[LabelSchema, list[str]]:
    """The schema and every problem found (the schema is only meaningful without problems)."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        return LabelSchema(()), [f"the label schema must be a mapping with a 'fields' list (got {got(data)})"]
    for key in data:
        if key not in TOP_KEYS:
            problems.append(f"the label schema has an unknown key {key!r}{suggest(key, TOP_KEYS)}")
    listed = data.get("fields")
    if not isinstance(listed, list) or not listed:
        return LabelSchema(()), [*problems, f"fields must be a non-empty list of fields (got {got(listed)})"]
    parsed = [_Field(item, index, problems, common_errors).parse() for index, item in enumerate(listed)]
    fields = [field for field in parsed if field is not None]
    positions: dict[str, list[int]] = {}
    for index, item in enumerate(listed):
        if isinstance(item, Mapping) and isinstance(name := item.get("name"), str):
            positions.setdefault(name, []).append(index)
    for name, at in positions.items():
        if len(at) > 1:
            where = ", ".join(f"fields[{index}]" for index in at)
            problems.append(f"field {name!r} ({where}): name is used more than once")
    types = {field.name: field.type for field in fields}
    for index, field in enumerate(parsed):
        target = field.validators.refusal_when if field else None
        if field is None or target is None:
            continue
        where = f"field {field.name!r} (fields[{index}]): validators.refusal_when names {target!r}"
        if target not in types:
            problems.append(f"{where}, which is not a field of this schema{suggest(target, types)}")
        elif types[target] is not FieldType.BOOL:
            problems.append(f"{where}, a {types[target]} field; it must name a bool field")
    rule = _consensus(data.get("consensus"), types, problems)
    return LabelSchema(tuple(fields), rule), problems


CONSENSUS_KEYS = ("min_share", "min_votes", "fields")


def _consensus(data: Any, types: Mapping[str, FieldType], problems: list[str]) -> ConsensusRule:
    """The optional ``consensus:`` mapping; a missing key keeps its default."""
    if data is None:
        return ConsensusRule()
    if not isinstance(data, Mapping):
        problems.append(f"consensus must be a mapping with min_share, min_votes, fields (got {got(data)})")
        return ConsensusRule()
    for key in data:
        if key not in CONSENSUS_KEYS:
            problems.append(f"consensus has an unknown key {key!r}{suggest(key, CONSENSUS_KEYS)}")
    default = ConsensusRule()
    share, votes, names = data.get("min_share"), data.get("min_votes"), data.get("fields")
    if share is None:
        share = default.min_share
    elif not is_number(share) or not 0 < float(share) <= 1:
        problems.append(f"consensus.min_share must be a number in (0, 1] (got {got(share)})")
        share = default.min_share
    if votes is None:
        votes = default.min_votes
    elif not is_int(votes) or int(votes) < 1:
        problems.append(f"consensus.min_votes must be a whole number of at least 1 (got {got(votes)})")
        votes = default.min_votes
    chosen: list[str] = []
    if names not in (None, []):
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"consensus.fields must be a list of field names (got {got(names)})")
        else:
            for name in names:
                if name not in types:
                    problems.append(f"consensus.fields names {name!r}, not a field{suggest(name, types)}")
                elif name in chosen:
                    problems.append(f"consensus.fields names {name!r} more than once")
                else:
                    chosen.append(name)
    return ConsensusRule(min_share=float(share), min_votes=int(votes), fields=tuple(chosen))


class _Field:
    def __init__(self, item: Any, index: int, problems: list[str], common_errors: Callable[[], list[str]]):
        self.item, self.problems, self.common_errors = item, problems, common_errors
        self.where = f"fields[{index}]"

    def report(self, path: str, what: str) -> None:
        self.problems.append(f"{self.where}: {path} {what}")

    def given(self, key: str) -> Any:
        value = self.item.get(key)
        return None if value is None or value is False or value == [] else value

    def parse(self) -> LabelField | None:
        item = self.item
        if not isinstance(item, Mapping):
            self.problems.append(f"{self.where} must be a mapping with a name and a type (got {got(item)})")
            return None
        name = item.get("name")
        if isinstance(name, str) and name:
            self.where = f"field {name!r} ({self.where})"
        if not isinstance(name, str) or not NAME.fullmatch(name):
            what = "a lower-case identifier (a-z, 0-9, _; starting with a letter; at most 64 characters)"
            self.report("name", f"must be {what} (got {got(name)})")
        elif name in RESERVED_NAMES:
            self.report("name", f"{name!r} is reserved: the service records it on every sample itself")
        for key in item:
            if key not in FIELD_KEYS:
                self.report(str(key), f"is not a known key{suggest(key, FIELD_KEYS)}")
        raw_type = item.get("type")
        try:
            kind = FieldType(str(raw_type))
        except ValueError:
            known = suggest(raw_type, [t.value for t in FieldType]) if isinstance(raw_type, str) else ""
            state = "is required" if raw_type is None else f"{got(raw_type)} is not a known type{known}"
            self.report("type", f"{state} (one of {_TYPES})")
            return None
        label, help_text = self.text("label"), self.text("help")
        required = self.flag("required")
        if required and kind is FieldType.BOOL:
            self.report("required", "does not apply to a bool field: unchecked is an answer (false)")
        choices, choices_from = self.choices(kind)
        ordinal = self.flag("ordinal")
        if ordinal and kind is not FieldType.CHOICE:
            self.report("ordinal", f"applies to choice fields only, not {kind}")
        shortcut_keys = self.shortcut_keys(kind, choices)
        validators = self.validators(kind)
        prefill = self.prefill(kind)
        default = self.default(kind, choices, validators)
        if default is not None and prefill is not None:
            self.report("default", "and prefill both set the starting value; keep one")
        return LabelField(
            name=name if isinstance(name, str) else "",
            type=kind,
            label=label or (name.replace("_", " ").capitalize() if isinstance(name, str) else ""),
            help=help_text,
            required=required,
            choices=choices,
            choices_from=choices_from,
            ordinal=ordinal,
            default=default,
            prefill=prefill,
            shortcut_keys=shortcut_keys,
            validators=validators,
        )

    def text(self, key: str) -> str:
        value = self.item.get(key)
        if value is not None and not isinstance(value, str):
            self.report(key, f"must be text (got {got(value)})")
        return value.strip() if isinstance(value, str) else ""

    def flag(self, key: str) -> bool:
        value = self.item.get(key)
        if value is not None and not isinstance(value, bool):
            self.report(key, f"must be true or false (got {got(value)})")
        return value is True

    def choices(self, kind: FieldType) -> tuple[tuple[str, ...], ChoicesFrom | None]:
        raw, raw_from = self.given("choices"), self.given("choices_from")
        if not kind.has_choices:
            for key in ("choices", "choices_from"):
                if self.given(key) is not None:
                    self.report(key, f"applies to choice and multi_choice fields only, not {kind}")
            return (), None
        listed: tuple[str, ...] = ()
        if raw is not None:
            if not isinstance(raw, list):
                self.report("choices", f"must be a list of text (got {got(raw)})")
            else:
                for position, choice in enumerate(raw):
                    if not isinstance(choice, str) or not choice.strip():
                        hint = "; quote it in YAML" if isinstance(choice, bool | int | float) else ""
                        what = f"must be non-empty text (got {got(choice)}){hint}"
                        self.report(f"choices[{position}]", what)
                listed = tuple(c.strip() for c in raw if isinstance(c, str) and c.strip())
                if len(set(listed)) < len(listed):
                    repeated = sorted({c for c in listed if listed.count(c) > 1})
                    self.report("choices", f"lists {', '.join(map(repr, repeated))} more than once")
        if raw_from is None:
            if raw is None:
                self.report("choices", "are required: give choices (a list) or choices_from: common_errors")
            return listed, None
        if raw_from != ChoicesFrom.COMMON_ERRORS:
            self.report("choices_from", f"must be {ChoicesFrom.COMMON_ERRORS.value} (got {got(raw_from)})")
            return listed, None
        resolved = tuple(self.common_errors())
        if not resolved:
            self.report(
                "choices_from",
                "common_errors: the SOP lists no common errors (add list items under its "
                "'How common errors are judged' heading)",
            )
        elif raw is not None and listed != resolved:
            what = "differ from the SOP's common errors; drop choices to take them from the SOP"
            self.report("choices", what)
        return resolved, ChoicesFrom.COMMON_ERRORS

    def shortcut_keys(self, kind: FieldType, choices: tuple[str, ...]) -> bool:
        fits = kind.has_choices and len(choices) <= MAX_SHORTCUT_CHOICES
        value = self.item.get("shortcut_keys")
        if value is None:
            return fits
        if self.flag("shortcut_keys") and not fits:
            why = f"{len(choices)} choices" if kind.has_choices else f"a {kind} field"
            self.report("shortcut_keys", f"needs a choice field with at most 9 choices (this is {why})")
        return value is True and fits

    def prefill(self, kind: FieldType) -> Prefill | None:
        raw = self.given("prefill")
        if raw is None:
            return None
        if raw != Prefill.MODEL_ANSWER:
            self.report("prefill", f"must be {Prefill.MODEL_ANSWER.value} (got {got(raw)})")
            return None
        if not kind.is_text:
            self.report("prefill", f"applies to text and json fields only, not {kind}")
            return None
        return Prefill.MODEL_ANSWER

    def validators(self, kind: FieldType) -> Validators:
        raw = self.item.get("validators")
        if raw is None or raw == {}:
            return Validators()
        if not isinstance(raw, Mapping):
            self.report("validators", f"must be a mapping (got {got(raw)})")
            return Validators()
        values: dict[str, Any] = {}
        for key, value in raw.items():
            path = f"validators.{key}"
            if key not in VALIDATOR_TYPES:
                self.report(path, f"is not a known validator{suggest(key, VALIDATOR_TYPES)}")
            elif value is None or value is False:
                continue
            elif kind not in VALIDATOR_TYPES[key]:
                kinds = " and ".join(t.value for t in VALIDATOR_TYPES[key])
                self.report(path, f"applies to {kinds} fields only, not {kind}")
            elif (checked := self.validator(key, value, path)) is not None:
                values[key] = checked
        low, high = values.get("min"), values.get("max")
        if low is not None and high is not None and low > high:
            self.report("validators.min", f"({low}) is greater than validators.max ({high})")
            values.pop("min")
        return Validators(**values)

    def validator(self, key: str, value: Any, path: str) -> Any:
        try:
            if key == "max_length" and not (is_int(value) and value >= 1):
                raise ValueError(f"must be a whole number of at least 1 (got {got(value)})")
            if key in ("min", "max") and not is_number(value):
                raise ValueError(f"must be a number (got {got(value)})")
            if key == "must_parse_json" and value is not True:
                raise ValueError(f"must be true or false (got {got(value)})")
            if key in ("regex", "refusal_when") and not isinstance(value, str):
                raise ValueError(f"must be text (got {got(value)})")
            if key == "regex":
                compile_regex(value)
            if key == "json_schema":
                if not isinstance(value, Mapping):
                    raise ValueError(f"must be a JSON Schema object (got {got(value)})")
                schema_validator(value)
        except ValueError as error:
            self.report(path, str(error))
            return None
        return value

    def default(self, kind: FieldType, choices: tuple[str, ...], validators: Validators) -> Any:
        value = self.item.get("default")
        if value is None or (kind.has_choices and not choices):
            return None  # without choices, the missing choices are the problem to report
        problem = ""
        if kind is FieldType.CHOICE and value not in choices:
            problem = f"must be one of the choices (got {got(value)})"
        elif kind is FieldType.MULTI_CHOICE:
            if not isinstance(value, list) or any(item not in choices for item in value):
                problem = f"must be a list of the choices (got {got(value)})"
            else:
                return tuple(choice for choice in choices if choice in value)
        elif kind is FieldType.BOOL and not isinstance(value, bool):
            problem = f"must be true or false (got {got(value)})"
        elif kind.is_text and not isinstance(value, str):
            problem = f"must be text (got {got(value)})"
        elif kind.is_text and (kind is FieldType.JSON or validators.parses_json) and not parses(value):
            problem = "must be valid JSON"
        elif kind.is_number:
            problem = _number_problem(kind, value, validators)
        if problem:
            self.report("default", problem)
            return None
        return value


def _number_problem(kind: FieldType, value: Any, validators: Validators) -> str:
    if not (is_int(value) if kind is FieldType.INTEGER else is_number(value)):
        return f"must be a {'whole ' if kind is FieldType.INTEGER else ''}number (got {got(value)})"
    if validators.min is not None and value < validators.min:
        return f"must be at least validators.min ({validators.min})"
    if validators.max is not None and value > validators.max:
        return f"must be at most validators.max ({validators.max})"
    return ""
