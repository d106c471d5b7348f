"""Programmatic data: a plug-in generates (input, expected output) pairs, and validates each.

For tasks with deterministic rules (structured extraction, field mapping, rule-based
classification, SQL-like generation) code can write the golden answer, and the long tail
(empty values, missing fields, malformed formats, extreme lengths, conflicting instructions)
can be covered on purpose rather than by luck. A plug-in is any object with::

    name: str                    # becomes lineage "generator" and part of each item key
    version: str                 # bump when the output for the same params changes
    task_type: str               # lineage task_type, e.g. "extraction"
    output_format: str           # "json" or "text"
    json_schema: dict | None     # the schema expected outputs satisfy (written into the export meta)
    system_prompt: str           # the task's instruction, the first message of each prompt ("" for none)

    def generate(self, params: Mapping, rng: random.Random) -> Iterator[Pair | tuple[input, expected]]
    def validate(self, pair: Pair) -> list[str]    # problems; empty = valid
    def check_params(self, params: Mapping) -> list[str]   # optional: what is wrong with the params

``input`` is the user's message (text). ``generate`` must draw every random choice from ``rng``
so the same params and seed give the same pairs. ``validate`` runs on every pair, before and
again after PII scrubbing; helpers for the usual checks are below (:func:`check_json`).
Load one by dotted path with :func:`load_generator` (``package.module:attribute`` or
``package.module.attribute``; a class is instantiated without arguments).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from annotate.augment.contract import schema_problem
from annotate.labeling.coerce import parse_json
from flywheel.errors import ConfigError, InvalidInput

BAD_PATH = "'{path}' is not a dotted path to a generator (write package.module:Name or package.module.Name)."
NOT_IMPORTABLE = "The generator module '{module}' cannot be imported ({error})."
NO_ATTRIBUTE = "The module '{module}' has no attribute '{name}'."
NOT_A_GENERATOR = "'{path}' is not a generator: it lacks {missing}."
BAD_FORMAT = "'{path}' has output_format {value!r}; use 'json' or 'text'."
BAD_PAIR = "the generator yielded {got}, not a Pair or an (input, expected_output) tuple"
REQUIRED = ("name", "version", "task_type", "output_format", "generate", "validate")
HINT = "See annotate/augment/programmatic.py for the interface and fixtures/generators/ for an example."


@dataclass(frozen=True)
class Pair:
    """One generated example. ``case`` names the long-tail case it covers ("missing_field", ...)."""

    input: str
    expected_output: str
    case: str = ""


@runtime_checkable
class Generator(Protocol):
    name: str
    version: str
    task_type: str
    output_format: str
    json_schema: Mapping[str, Any] | None
    system_prompt: str

    def generate(self, params: Mapping[str, Any], rng: random.Random) -> Iterator[Pair | tuple[str, str]]: ...

    def validate(self, pair: Pair) -> list[str]: ...


def load_generator(path: str) -> Generator:
    """The generator at ``path``; raises :class:`InvalidInput` / :class:`ConfigError` saying what is wrong."""
    module_name, _, attribute = path.partition(":") if ":" in path else path.rpartition(".")
    if (
        not module_name
        or not attribute
        or not all(p.isidentifier() for p in [*module_name.split("."), attribute])
    ):
        raise InvalidInput(BAD_PATH.format(path=path[:200]), hint=HINT)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            NOT_IMPORTABLE.format(module=module_name, error=type(error).__name__), hint=HINT
        ) from None
    target = getattr(module, attribute, None)
    if target is None:
        raise ConfigError(NO_ATTRIBUTE.format(module=module_name, name=attribute), hint=HINT)
    generator = target() if isinstance(target, type) else target
    missing = [name for name in REQUIRED if not hasattr(generator, name)]
    if missing:
        raise ConfigError(NOT_A_GENERATOR.format(path=path, missing=", ".join(missing)), hint=HINT)
    if generator.output_format not in ("json", "text"):
        raise ConfigError(BAD_FORMAT.format(path=path, value=generator.output_format), hint=HINT)
    for optional, default in (("json_schema", None), ("system_prompt", "")):
        if not hasattr(generator, optional):
            setattr(generator, optional, default)
    return generator  # type: ignore[no-any-return]


def params_problems(generator: Generator, params: Mapping[str, Any]) -> list[str]:
    check = getattr(generator, "check_params", None)
    return list(check(params)) if callable(check) else []


def as_pair(item: Any) -> Pair:
    if isinstance(item, Pair):
        return item
    if isinstance(item, tuple) and len(item) == 2 and all(isinstance(part, str) for part in item):
        return Pair(item[0], item[1])
    raise InvalidInput(BAD_PAIR.format(got=type(item).__name__), hint=HINT)


def check_json(text: str, schema: Mapping[str, Any] | None) -> list[str]:
    """The usual first check of a JSON task: the output parses, and satisfies ``schema``."""
    try:
        document = parse_json(text)
    except ValueError as error:
        return [f"the expected output is not JSON: {error}"]
    if schema is None:
        return []
    problem = schema_problem(document, schema)
    return [problem] if problem else []
