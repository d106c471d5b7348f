"""The API's JSON parser: DRF's, refusing documents nested too deep to handle.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a body nested ~1,000 levels
deep, which DRF's parser lets through as a server error; a body just under that parses, then
breaks whatever walks it next (validation, the database's JSON encoder). No label, SOP schema or
rule comes close to :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

MAX_DEPTH = 64
TOO_DEEP = "The JSON body is nested more than {limit} levels deep; no field of this API needs that."


def depth_exceeds(data: Any, limit: int) -> bool:
    """True when ``data`` nests lists/objects more than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(DRFJSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP.format(limit=MAX_DEPTH)) from None
        if depth_exceeds(data, MAX_DEPTH):
            raise ParseError(TOO_DEEP.format(limit=MAX_DEPTH))
        return data
