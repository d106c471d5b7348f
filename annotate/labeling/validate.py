"""Is a label valid for its schema? Field-by-field messages for the form, and the stored form.

``validate_label`` judges, ``clean_label`` normalises; the service calls both (validate, then
store what clean returns). Messages are module constants so tests assert their exact text,
and they never quote a text field's value (it comes from a trace): at most a choice, or a
JSON Schema's account of a piece of JSON, cut short.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import best_match

from annotate.labeling.coerce import coerce, empty_value, is_empty, normalise_text, parse_json
from annotate.labeling.model import FieldType, LabelField, LabelSchema, OutputFormat, Prefill
from annotate.labeling.refusal import is_refusal
from flywheel.errors import InvalidInput
from flywheel.rules.parse import suggest

__all__ = ["InvalidLabel", "clean_label", "initial_values", "is_refusal", "validate_label"]

REQUIRED = "{field} is required"
NOT_A_CHOICE = "{field}: {value!r} is not one of the choices"
NOT_JSON = "{field}: not valid JSON: {error}"
SCHEMA_MISMATCH = "{field}: JSON does not match the schema at '{path}': {error}"
MUST_REFUSE = "{field} must read as a refusal because {flag} is set"
TOO_LONG = "{field} is too long: {length:,} characters (at most {limit:,})"
NO_MATCH = "{field} does not match the pattern {pattern}"
TOO_SMALL = "{field} must be at least {limit}"
TOO_LARGE = "{field} must be at most {limit}"
UNKNOWN_FIELD = "{field} is not a field of this schema{suggestion}"
BAD_VALUE = "{field} {problem}"  # problem: what coerce() said, e.g. "must be a number (got 'x')"
BAD_FORMAT = "output_format must be one of {formats} (got {value!r})"

HINT = "Correct the listed fields and submit the label again."


class InvalidLabel(InvalidInput):
    """A label that cannot be stored; ``errors`` maps field name to messages (for the form)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for messages in errors.values() for m in messages), hint=HINT)
        self.errors = errors


def validate_label(
    schema: LabelSchema, values: Mapping[str, Any], *, output_format: OutputFormat | str = OutputFormat.TEXT
) -> dict[str, list[str]]:
    """Field name -> messages; an empty dict means the label is valid.

    ``values`` is a plain mapping (a form's multi-valued keys as lists); missing fields are
    unanswered. With ``output_format="json"`` the corrected answer (the field with
    ``prefill: model_answer``) must parse as JSON. A text that must read as a refusal
    (``refusal_when``) is not held to JSON: a refusal replaces the structured answer.
    """
    try:
        fmt = OutputFormat(output_format)
    except ValueError:
        formats = ", ".join(f.value for f in OutputFormat)
        raise InvalidInput(BAD_FORMAT.format(formats=formats, value=output_format)) from None
    cleaned, errors = _coerce(schema, values)
    for field in schema.fields:
        if field.name not in errors and (messages := _check(field, cleaned, fmt)):
            errors[field.name] = messages
    # Schema order, unknown keys last: the form shows them top to bottom.
    order = {name: position for position, name in enumerate(schema.names)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))


def clean_label(schema: LabelSchema, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every schema field, in schema order, as stored: typed, text with ``\\n`` endings and no
    trailing whitespace, multi-choice unique in schema order, unanswered fields empty.

    Raises :class:`InvalidLabel` for unknown keys and values of the wrong type. It does not
    judge (choices, limits, refusals): that is :func:`validate_label`.
    """
    cleaned, errors = _coerce(schema, values)
    if errors:
        raise InvalidLabel(errors)
    return {field.name: cleaned.get(field.name, empty_value(field)) for field in schema.fields}


def initial_values(schema: LabelSchema, *, model_answer: str = "") -> dict[str, Any]:
    """The values the form starts from: each field's default, or the model's answer to prefill."""
    start: dict[str, Any] = {}
    for field in schema.fields:
        if field.prefill is Prefill.MODEL_ANSWER:
            start[field.name] = normalise_text(model_answer)
        elif field.default is not None:
            start[field.name] = list(field.default) if isinstance(field.default, tuple) else field.default
        else:
            start[field.name] = empty_value(field)
    return start


def _coerce(schema: LabelSchema, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in schema.fields:
        try:
            cleaned[field.name] = coerce(field, values.get(field.name))
        except ValueError as error:
            errors[field.name] = [BAD_VALUE.format(field=field.name, problem=error)]
    for key in values:
        if key not in cleaned and key not in errors:
            suggestion = suggest(key, schema.names)
            errors[str(key)] = [UNKNOWN_FIELD.format(field=key, suggestion=suggestion)]
    return cleaned, errors


def _check(field: LabelField, cleaned: Mapping[str, Any], fmt: OutputFormat) -> list[str]:
    value = cleaned[field.name]
    flag = field.validators.refusal_when
    must_refuse = flag is not None and cleaned.get(flag) is True
    if is_empty(value):
        if field.required:
            return [REQUIRED.format(field=field.name)]
        # An empty answer is not a refusal either.
        return [MUST_REFUSE.format(field=field.name, flag=flag)] if must_refuse else []
    if field.type.has_choices:
        chosen = value if isinstance(value, list) else [value]
        return [
            NOT_A_CHOICE.format(field=field.name, value=_short(c)) for c in chosen if c not in field.choices
        ]
    if field.type.is_number:
        return _check_number(field, value)
    if field.type.is_text:
        return _check_text(field, value, fmt, must_refuse)
    return []


def _short(text: str) -> str:
    # A client can post anything as a "choice"; the message quotes only its start.
    return text if len(text) <= 40 else text[:39] + "\u2026"


def _check_number(field: LabelField, value: float) -> list[str]:
    low, high = field.validators.min, field.validators.max
    if low is not None and value < low:
        return [TOO_SMALL.format(field=field.name, limit=_number(low))]
    if high is not None and value > high:
        return [TOO_LARGE.format(field=field.name, limit=_number(high))]
    return []


def _number(value: float) -> str:
    """20 rather than 20.0: limits are written by people."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_text(field: LabelField, text: str, fmt: OutputFormat, must_refuse: bool) -> list[str]:
    rules, name = field.validators, field.name
    messages = []
    if rules.max_length is not None and len(text) > rules.max_length:
        messages.append(TOO_LONG.format(field=name, length=len(text), limit=rules.max_length))
    if rules.pattern is not None and not rules.pattern.search(text):
        messages.append(NO_MATCH.format(field=name, pattern=rules.regex))
    if must_refuse:
        if not is_refusal(text):
            messages.append(MUST_REFUSE.format(field=name, flag=rules.refusal_when))
        return messages
    answer_is_json = fmt is OutputFormat.JSON and field.prefill is Prefill.MODEL_ANSWER
    if field.type is FieldType.JSON or rules.parses_json or answer_is_json:
        try:
            document = parse_json(text)
        except ValueError as error:
            return [*messages, NOT_JSON.format(field=name, error=error)]
        if rules.json_validator is not None:
            failure = best_match(rules.json_validator.iter_errors(document))
            if failure is not None:
                path = "/" + "/".join(str(part) for part in failure.absolute_path)
                # The message can quote the value; the form has little room.
                messages.append(SCHEMA_MISMATCH.format(field=name, path=path, error=failure.message[:200]))
    return messages
