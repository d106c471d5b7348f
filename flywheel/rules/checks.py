"""Load-time checks for the two rule parts that carry a language of their own: regexes and JSON
Schemas. Both fail here, when the rules are saved, rather than on every trace at evaluation time.

Each check raises ``ValueError`` whose text completes "<field> ..." (e.g. "is not a valid
regular expression: ..."); the loader prefixes the rule name and field path.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

# Regexes only see this many leading characters of a text. Python's `re` has no timeout, and
# even a pattern without nested repeats can be polynomial: `.*a.*b.*c` takes 0.3 s on 10,000
# characters without an "a" and 8.5 s on 50,000. A final answer or user turn is rarely longer.
MAX_REGEX_TEXT = 10_000

# Schemas without $schema are read as this draft (jsonschema's latest).
DEFAULT_DRAFT = Draft202012Validator

# re's own parser (private, stable since 3.11; the public `sre_parse` alias is deprecated): the
# only way to see a pattern's structure without writing a regex parser. Typed Any on purpose.
_parser: Any = importlib.import_module("re._parser")
_constants: Any = importlib.import_module("re._constants")
_GREEDY_OR_LAZY = (_constants.MAX_REPEAT, _constants.MIN_REPEAT)
_NO_BACKTRACK = (_constants.POSSESSIVE_REPEAT, _constants.ATOMIC_GROUP)


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a rule's regex, refusing patterns that can backtrack exponentially."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise ValueError(f"is not a valid regular expression: {error.msg}{where}") from None
    if _has_nested_repeat(_parser.parse(pattern), inside_repeat=False):
        # The classic star-height heuristic (as in safe-regex): `(a+)+`, `(\w+\s?)*` take
        # exponential time on a near-miss. It also refuses a few safe ones like `(\w+\.)*`,
        # which the possessive/atomic rewrite keeps meaning the same.
        raise ValueError(
            "may take exponential time: a repeated group holds another unbounded repeat; "
            "make the inner repeat possessive (\\w++) or the group atomic ((?>...))"
        )
    return compiled


def _has_nested_repeat(items: Any, *, inside_repeat: bool) -> bool:
    for op, av in items:
        if op in _GREEDY_OR_LAZY:
            unbounded = av[1] == _constants.MAXREPEAT
            if unbounded and inside_repeat:
                return True
            if _has_nested_repeat(av[2], inside_repeat=inside_repeat or unbounded):
                return True
        elif op in _NO_BACKTRACK:
            # The enclosing repeat cannot backtrack into these, so they start afresh.
            body = av[2] if op == _constants.POSSESSIVE_REPEAT else av
            if _has_nested_repeat(body, inside_repeat=False):
                return True
        elif any(_has_nested_repeat(sub, inside_repeat=inside_repeat) for sub in _subpatterns(av)):
            return True
    return False


def _subpatterns(av: Any) -> Iterator[Any]:
    """Sub-patterns inside an op's argument (groups, branches, lookarounds, conditionals)."""
    if isinstance(av, _parser.SubPattern):
        yield av
    elif isinstance(av, tuple | list):
        for item in av:
            yield from _subpatterns(item)


def schema_validator(schema: Mapping[str, Any]) -> Any:
    """A jsonschema validator for ``schema`` once it is known to be a valid, self-contained schema."""
    # No $schema: the latest draft. An unknown one is refused rather than read as the latest.
    validator_class = validator_for(schema, default=None if "$schema" in schema else DEFAULT_DRAFT)
    if validator_class is None:
        raise ValueError(f"has an unknown $schema {schema.get('$schema')!r}")
    try:
        validator_class.check_schema(schema)
    except SchemaError as error:
        at = "/".join(str(part) for part in error.path)
        raise ValueError(f"is not a valid JSON Schema at '/{at}': {error.message}") from None
    _check_refs(schema)
    return validator_class(schema)


def _check_refs(schema: Mapping[str, Any]) -> None:
    # jsonschema resolves $ref lazily, so a dangling one would raise on every trace instead.
    resolver = Registry().resolver_with_root(
        Resource.from_contents(schema, default_specification=DRAFT202012)
    )
    for ref in _refs(schema):
        if not ref.startswith("#"):
            raise ValueError(f"has $ref {ref!r}: only references inside the schema ('#/...') are allowed")
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise ValueError(f"has $ref {ref!r}, which points to nothing in the schema") from None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        yield from (ref for item in node for ref in _refs(item))
