"""The label schema as typed records. The YAML syntax is documented in :mod:`annotate.labeling.schema`.

Records are frozen: a parsed schema is shared by every request that labels against one SOP
version. They are built by :func:`annotate.labeling.schema.parse_schema`, which checks every
rule; building one by hand skips those checks except that ``regex`` and ``json_schema``
still compile here, so validation never meets an uncompiled pattern.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flywheel.rules.checks import compile_regex, schema_validator

# Number keys 1-9 pick a choice; a field with more choices has no key for some of them.
MAX_SHORTCUT_CHOICES = 9


class FieldType(StrEnum):
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    BOOL = "bool"
    TEXT = "text"
    JSON = "json"  # text that must parse as JSON
    NUMBER = "number"
    INTEGER = "integer"

    @property
    def has_choices(self) -> bool:
        return self in (FieldType.CHOICE, FieldType.MULTI_CHOICE)

    @property
    def is_text(self) -> bool:
        return self in (FieldType.TEXT, FieldType.JSON)

    @property
    def is_number(self) -> bool:
        return self in (FieldType.NUMBER, FieldType.INTEGER)


class Prefill(StrEnum):
    """Where a text field's starting value comes from."""

    MODEL_ANSWER = "model_answer"


class ChoicesFrom(StrEnum):
    """Where a choice field's choices come from, resolved against the SOP body at load."""

    COMMON_ERRORS = "common_errors"


class OutputFormat(StrEnum):
    """The task's answer format. With JSON, the corrected answer (``prefill: model_answer``) must parse."""

    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class Validators:
    max_length: int | None = None
    regex: str | None = None
    # Excluded from hashing: a dict. Compared, so two schemas with different JSON Schemas differ.
    json_schema: Mapping[str, Any] | None = dataclasses.field(default=None, hash=False)
    must_parse_json: bool = False
    refusal_when: str | None = None  # name of a bool field
    min: float | None = None
    max: float | None = None
    pattern: re.Pattern[str] | None = dataclasses.field(init=False, compare=False, repr=False)
    json_validator: Any = dataclasses.field(init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        # Frozen: object.__setattr__ is the dataclass-sanctioned way to fill derived fields.
        object.__setattr__(self, "pattern", compile_regex(self.regex) if self.regex is not None else None)
        validator = schema_validator(self.json_schema) if self.json_schema is not None else None
        object.__setattr__(self, "json_validator", validator)

    @property
    def parses_json(self) -> bool:
        """A JSON Schema can only be checked against parsed JSON, so it implies must_parse_json."""
        return self.must_parse_json or self.json_schema is not None

    def to_dict(self) -> dict[str, Any]:
        """Only the validators that are set, in declaration order."""
        data = {
            "max_length": self.max_length,
            "regex": self.regex,
            "json_schema": _plain(self.json_schema) if self.json_schema is not None else None,
            "must_parse_json": self.must_parse_json or None,
            "refusal_when": self.refusal_when,
            "min": self.min,
            "max": self.max,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class LabelField:
    name: str
    type: FieldType
    label: str = ""
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()  # resolved, also for choices_from
    choices_from: ChoicesFrom | None = None
    ordinal: bool = False  # choices are ordered (weighted kappa)
    default: Any = None  # a multi_choice default is a tuple
    prefill: Prefill | None = None
    shortcut_keys: bool = False
    validators: Validators = dataclasses.field(default_factory=Validators)

    def to_dict(self) -> dict[str, Any]:
        """Every key, explicitly: the browser needs no knowledge of defaults."""
        return {
            "name": self.name,
            "type": self.type.value,
            "label": self.label,
            "help": self.help,
            "required": self.required,
            "choices": list(self.choices),
            "choices_from": self.choices_from.value if self.choices_from else None,
            "ordinal": self.ordinal,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "prefill": self.prefill.value if self.prefill else None,
            "shortcut_keys": self.shortcut_keys,
            "validators": self.validators.to_dict(),
        }


@dataclass(frozen=True)
class ConsensusRule:
    """When the annotators' majority stands for a lead (see :mod:`annotate.review.label`).

    ``fields``: the fields that must reach consensus; empty means every choice, multi_choice and
    bool field. A text field named here must be identical (after whitespace normalisation)
    across the votes; the corrected answer (``prefill: model_answer``) always must. Other
    fields take the value of the earliest vote that agrees with the majority.
    """

    min_share: float = 0.66
    min_votes: int = 2
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"min_share": self.min_share, "min_votes": self.min_votes, "fields": list(self.fields)}


@dataclass(frozen=True)
class LabelSchema:
    fields: tuple[LabelField, ...]
    consensus: ConsensusRule = dataclasses.field(default_factory=ConsensusRule)

    def __iter__(self) -> Iterator[LabelField]:
        return iter(self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    def field(self, name: str) -> LabelField:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)


def schema_to_dict(schema: LabelSchema) -> dict[str, Any]:
    """Plain JSON-able data for storage and the browser; :func:`parse_schema` reads it back.

    Every key is present and ``choices`` are resolved (the browser cannot read the SOP);
    ``choices_from`` stays, so parsing it again against the same SOP gives an equal schema.
    """
    return {"fields": [field.to_dict() for field in schema.fields], "consensus": schema.consensus.to_dict()}


def _plain(value: Any) -> Any:
    """A deep copy as dicts and lists (a stored JSON Schema must not alias the caller's)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
