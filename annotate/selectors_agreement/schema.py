"""The fields agreement is computed for, from the newest published SOP, and how stored values fit them.

Values an older SOP version allowed but the newest does not know are kept for nominal fields
(the category is appended after the schema's choices) and left out, counted in
``outside_schema``, where the order matters (ordinal) or the type changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from annotate.agreement import Coded, Level, level_for_field
from annotate.agreement.columns import MISSING
from annotate.labeling.model import FieldType, LabelSchema
from annotate.services.sops import sop_current, sop_schema
from flywheel.errors import InvalidInput
from flywheel.models import Project
from flywheel.rules.parse import suggest

UNKNOWN_FIELD = (
    "The label schema of SOP v{version} has no field {field!r}{suggestion}; its fields are {fields}."
)
TEXT_FIELD = (
    "Field {field!r} is free text: agreement is computed for choice, multi-choice, bool and number "
    "fields ({fields})."
)

BOUNDARY = "boundary"
SAMPLE_TYPE = "sample_type"
MUST_REFUSE = "must_refuse"
_DROP = object()  # a value the newest schema cannot place: left out and counted
_DROPPED = -2  # its code


@dataclass(frozen=True)
class FieldSpec:
    """One field of the schema, as the agreement core needs it."""

    name: str
    label: str
    type: str  # a FieldType value
    level: Level
    categories: tuple[Any, ...] | None  # choice order; (False, True) for bool; None for numbers
    choices: tuple[str, ...] = ()  # the schema's own choices (before values of older SOPs)

    @property
    def multi(self) -> bool:
        return self.type == FieldType.MULTI_CHOICE


@dataclass(frozen=True)
class AgreementSchema:
    sop_version: int
    fields: tuple[FieldSpec, ...]
    min_share: float
    min_votes: int
    has_boundary: bool  # a sample_type field with a "boundary" choice and a must_refuse bool field
    all_names: tuple[str, ...] = ()  # every field of the schema, text fields included
    text_names: tuple[str, ...] = ()  # its text and json fields: never read for agreement

    def spec(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


def agreement_schema(project: Project) -> AgreementSchema:
    """The fields agreement is computed for, from the newest published SOP (NotFound if none)."""
    sop = sop_current(project)
    schema: LabelSchema = sop_schema(sop)
    specs = []
    for f in schema.fields:
        level = level_for_field(f.type.value, ordinal=f.ordinal)
        if level is None:
            continue
        categories: tuple[Any, ...] | None
        if f.type is FieldType.BOOL:
            categories = (False, True)
        elif f.type.has_choices:
            categories = tuple(f.choices)
        else:
            categories = None
        specs.append(
            FieldSpec(
                name=f.name,
                label=f.label or f.name.replace("_", " ").capitalize(),
                type=f.type.value,
                level=level,
                categories=categories,
                choices=tuple(f.choices),
            )
        )
    names = {f.name: f for f in schema.fields}
    has_boundary = (
        SAMPLE_TYPE in names
        and BOUNDARY in names[SAMPLE_TYPE].choices
        and MUST_REFUSE in names
        and names[MUST_REFUSE].type is FieldType.BOOL
    )
    return AgreementSchema(
        sop_version=sop.version,
        fields=tuple(specs),
        min_share=schema.consensus.min_share,
        min_votes=schema.consensus.min_votes,
        has_boundary=has_boundary,
        all_names=schema.names,
        text_names=tuple(f.name for f in schema.fields if f.type.is_text),
    )


def chosen_fields(schema: AgreementSchema, names: tuple[str, ...]) -> tuple[FieldSpec, ...]:
    """The specs of ``names`` (all when empty); a text field or an unknown name is refused by name."""
    if not names:
        return schema.fields
    known = {f.name for f in schema.fields}
    listing = ", ".join(f.name for f in schema.fields)
    for name in names:
        if name in known:
            continue
        if name in schema.all_names:
            raise InvalidInput(TEXT_FIELD.format(field=name, fields=listing))
        raise InvalidInput(
            UNKNOWN_FIELD.format(
                version=schema.sop_version, field=name, suggestion=suggest(name, known), fields=listing
            )
        )
    return tuple(f for f in schema.fields if f.name in names)


class FieldCoder:
    """Places one field's stored values in the newest schema (see the module docstring)."""

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec
        self.extra: set[str] = set()
        self._check: Callable[[Any], Any] = {
            FieldType.BOOL.value: _bool,
            FieldType.NUMBER.value: _number,
            FieldType.INTEGER.value: _number,
            FieldType.MULTI_CHOICE.value: self._multi,
        }.get(spec.type, self._choice)
        self._known = frozenset(spec.choices)

    def coded(self, values: list[Any]) -> tuple[Coded, np.ndarray]:
        """``values`` (one per distinct label) placed and coded, each distinct value placed once.

        Returns the codes, with one more entry (missing) that a label code of -1 reads, and
        which entries hold a value the schema cannot place (left out, counted).
        """
        index: dict[Any, int] = {}
        levels: list[Any] = []
        codes, dropped = [MISSING] * (len(values) + 1), [False] * (len(values) + 1)
        for k, value in enumerate(values):
            if value is None:
                continue
            # The type is in the key: True == 1, but 1 is no answer of a bool field.
            key = (value.__class__, tuple(value) if value.__class__ is list else value)
            try:
                code = index[key]
            except KeyError:
                code = index[key] = self._level(value, levels)
            except TypeError:  # unhashable inside (a dict in a list): placed on its own
                code = self._level(value, levels)
            if code == _DROPPED:
                dropped[k] = True
            else:
                codes[k] = code
        return Coded(np.array(codes, dtype=np.intp), tuple(levels)), np.array(dropped, dtype=bool)

    def _level(self, value: Any, levels: list[Any]) -> int:
        placed = self._check(value)
        if placed is _DROP:
            return _DROPPED
        levels.append(placed)
        return len(levels) - 1

    def _choice(self, value: Any) -> Any:
        if not isinstance(value, str):
            return _DROP
        if value not in self._known:
            if self.spec.level is Level.ORDINAL:
                return _DROP  # an unknown category has no place in the order
            self.extra.add(value)
        return value

    def _multi(self, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _DROP
        self.extra.update(v for v in value if v not in self._known)
        return value

    def extended(self) -> FieldSpec:
        """The spec with the categories older SOP versions used appended, in name order."""
        if not self.extra or self.spec.categories is None:
            return self.spec
        categories = (*self.spec.categories, *sorted(self.extra))
        return FieldSpec(
            self.spec.name, self.spec.label, self.spec.type, self.spec.level, categories, self.spec.choices
        )


def _bool(value: Any) -> Any:
    return value if isinstance(value, bool) else _DROP


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _DROP
    return value
