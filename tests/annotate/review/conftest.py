from __future__ import annotations

import pytest

from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN, LabelSchema, parse_schema


@pytest.fixture(scope="module")
def schema() -> LabelSchema:
    """The shipped default schema (verdict, error types, corrected output, ...)."""
    return parse_schema(DEFAULT_SCHEMA_YAML, sop_markdown=DEFAULT_SOP_MARKDOWN)


def label(**values) -> dict:
    """A cleaned label of the default schema: every field present, as stored."""
    base = {
        "verdict": "bad",
        "error_types": [],
        "corrected_output": "It ships tomorrow.",
        "must_refuse": False,
        "sample_type": "negative",
        "task_type": "qa",
        "difficulty": None,
        "domain": "",
        "notes": "",
    }
    return {**base, **values}
