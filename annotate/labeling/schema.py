r"""The label schema: what annotators fill in for each item, declared per SOP version.

A schema is YAML or JSON (JSON is tried first when the text starts with ``{``)::

    fields:
      - name: verdict              # lower-case identifier, unique; the key of the stored value
        type: choice               # choice | multi_choice | bool | text | json | number | integer
        label: Verdict             # optional; default: the name, capitalised ("Error types")
        help: Is the answer good?  # optional, shown beside the input
        required: true             # optional; not on bool (unchecked is an answer: false)
        choices: [good, bad]       # choice / multi_choice: text values, unique; quote yes/no/1
      - name: error_types
        type: multi_choice
        choices_from: common_errors     # instead of choices: the SOP's common-error list items
      - name: difficulty
        type: choice
        ordinal: true              # choices are ordered, lowest first (weighted kappa)
        shortcut_keys: false       # default: true for choice fields with at most 9 choices
        choices: [easy, medium, hard]
        default: medium            # optional starting value, valid for the type
      - name: corrected_output
        type: text                 # json = text that must parse as JSON
        prefill: model_answer      # text / json: starts as the model's answer (not with default)
        validators:
          max_length: 20000        # characters
          regex: '\S'             # Python re, searched (anchor with ^...$); checked at load
          must_parse_json: true    # text only
          json_schema: {type: object, required: [answer]}   # the parsed JSON must satisfy it
          refusal_when: must_refuse    # a bool field: when it is true, this text must be a refusal
      - name: must_refuse
        type: bool
      - name: score
        type: number               # integer: whole numbers
        validators: {min: 0, max: 1}

    consensus:                     # optional: when overlapped items need no lead
      min_share: 0.66              # the top value's share of the votes (default 0.66: 2 of 3)
      min_votes: 2                 # and at least this many votes (default 2)
      fields: [verdict, must_refuse]   # default: every choice, multi_choice and bool field

``json_schema`` implies ``must_parse_json``. Regexes that can backtrack exponentially and
JSON Schemas that are invalid or hold a ``$ref`` outside themselves are refused at load
(the checks failure rules use). Names the service records on every sample itself (``source``,
``source_id``, ``annotator``, ``reviewer``, ``version``, ``sop_version``, ``augment_type``,
``augment_round``) are reserved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotate.labeling.model import (
    ChoicesFrom,
    ConsensusRule,
    FieldType,
    LabelField,
    LabelSchema,
    OutputFormat,
    Prefill,
    Validators,
    schema_to_dict,
)
from annotate.labeling.parse import parse_fields
from annotate.labeling.serialize import read_document
from annotate.labeling.sop import common_errors
from flywheel.errors import InvalidInput

__all__ = [
    "DEFAULT_SCHEMA_YAML",
    "ChoicesFrom",
    "ConsensusRule",
    "FieldType",
    "InvalidSchema",
    "LabelField",
    "LabelSchema",
    "OutputFormat",
    "Prefill",
    "Validators",
    "parse_schema",
    "schema_to_dict",
]

HINT = "Fix the listed fields; the schema syntax is documented in annotate/labeling/schema.py."


class InvalidSchema(InvalidInput):
    """A schema that does not load. ``problems`` holds one line per mistake (for form errors)."""

    def __init__(self, problems: list[str]) -> None:
        many = f"{len(problems)} problems in the label schema:\n- " if len(problems) > 1 else ""
        super().__init__(many + "\n- ".join(problems), hint=HINT)
        self.problems = tuple(problems)


def parse_schema(source: str | Mapping[str, Any], *, sop_markdown: str = "") -> LabelSchema:
    """A schema from YAML/JSON text or parsed data (e.g. a JSONField).

    ``choices_from: common_errors`` is resolved against ``sop_markdown``. Raises one
    :class:`InvalidSchema` (an :class:`InvalidInput`) listing every problem, each naming the
    field and the key path.
    """
    if isinstance(source, str):
        try:
            data = read_document(source, what="label schema")
        except ValueError as error:
            raise InvalidSchema([str(error)]) from None
    else:
        data = source
    schema, problems = parse_fields(data, lambda: common_errors(sop_markdown))
    if problems:
        raise InvalidSchema(problems)
    return schema


DEFAULT_SCHEMA_YAML = """\
# What annotators fill in for each item. Syntax: annotate/labeling/schema.py.
fields:
  - name: verdict
    type: choice
    help: Is the model's answer good as it stands?
    required: true
    choices: [good, bad]
  - name: error_types
    type: multi_choice
    help: Every common error the answer makes (from the SOP).
    choices_from: common_errors
  - name: corrected_output
    type: text
    help: The answer the model should have given. Starts as the model's answer.
    prefill: model_answer
    validators:
      max_length: 20000
      refusal_when: must_refuse
  - name: must_refuse
    type: bool
    help: The request must be refused (see "What must be refused").
  - name: sample_type
    type: choice
    help: >-
      golden: a correct answer; negative: a wrong one (DPO rejected);
      boundary: must refuse vs. safe to answer; generic: keeps general ability.
    required: true
    choices: [golden, negative, boundary, generic]
  - name: task_type
    type: choice
    choices: [qa, extraction, classification, summarization, generation, chitchat, other]
  - name: difficulty
    type: choice
    ordinal: true
    choices: [easy, medium, hard]
  - name: domain
    type: text
    help: The subject area, e.g. billing, shipping, medical.
    validators:
      max_length: 100
  - name: notes
    type: text
    help: Anything the reviewer should know.
    validators:
      max_length: 5000
"""
