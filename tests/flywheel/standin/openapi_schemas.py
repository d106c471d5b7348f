"""Validate JSON against ``#/components/schemas/<Name>`` of Langfuse's openapi.yml.

OpenAPI 3.0 is not JSON Schema: ``nullable: true`` must become ``anyOf [..., null]`` and
component refs must point into ``$defs``. The spec path comes from ``LANGFUSE_OPENAPI``,
defaulting to ``<repo>/../shared/langfuse/openapi.yml``.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[3]
SPEC_PATH = Path(os.environ.get("LANGFUSE_OPENAPI", REPO.parent / "shared" / "langfuse" / "openapi.yml"))

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value) is not None


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert(value) for key, value in node.items() if key != "nullable"}
    ref = converted.get("$ref")
    if isinstance(ref, str):
        converted["$ref"] = ref.replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def _definitions() -> dict[str, Any]:
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return {name: _convert(schema) for name, schema in spec["components"]["schemas"].items()}


def validate(instance: Any, schema_name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` matches the named schema."""
    schema = {"$defs": _definitions(), "$ref": f"#/$defs/{schema_name}"}
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(instance)
