"""Schema text in (YAML or JSON) and a canonical YAML dump out (for diffs)."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

import yaml

TOO_DEEP = "the {what} is nested too deeply to read (hundreds of levels); no schema needs that"


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a field with two `choices:` would lose one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep)


def read_document(text: str, *, what: str) -> Any:
    """Parsed YAML or JSON. Raises ``ValueError`` saying what is wrong and where (line, column)."""
    if not text.strip():
        raise ValueError(f"the {what} is empty")
    if text.lstrip().startswith(("{", "[")):
        # JSON is (nearly) YAML, but json's own messages are the ones a JSON author understands.
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"the {what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            ) from None
        except RecursionError:
            raise ValueError(TOO_DEEP.format(what=what)) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"the {what} is not valid YAML: {error.problem or error.context}{where}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"the {what} is not valid YAML: {error}") from None
    except RecursionError:  # the parsers recurse per nesting level
        raise ValueError(TOO_DEEP.format(what=what)) from None


def dump_yaml(data: Any) -> str:
    """Block style, keys in the order given, Unicode kept readable: one value per line diffs well."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
