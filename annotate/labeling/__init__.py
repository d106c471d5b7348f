"""Labeling core: the SOP body, the label schema it carries, and label validation.

Plain Python, no Django: a service stores SOP versions and labels and calls these. An SOP
must hold four sections (:mod:`annotate.labeling.sop`); its label schema is YAML or JSON
(syntax in :mod:`annotate.labeling.schema`); :func:`validate_label` judges a submitted label
and :func:`clean_label` gives the form to store. :func:`is_refusal` lives in a self-contained
module (:mod:`annotate.labeling.refusal`) that ``training/`` copies.
"""

from annotate.labeling.model import (
    MAX_SHORTCUT_CHOICES,
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
from annotate.labeling.refusal import is_refusal
from annotate.labeling.schema import DEFAULT_SCHEMA_YAML, InvalidSchema, parse_schema
from annotate.labeling.sop import (
    DEFAULT_SOP_MARKDOWN,
    REQUIRED_SECTIONS,
    RequiredSection,
    SectionKey,
    check_sections,
    common_errors,
    require_sections,
    schema_diff,
    sop_diff,
)
from annotate.labeling.validate import InvalidLabel, clean_label, initial_values, validate_label

__all__ = [
    "DEFAULT_SCHEMA_YAML",
    "DEFAULT_SOP_MARKDOWN",
    "MAX_SHORTCUT_CHOICES",
    "REQUIRED_SECTIONS",
    "ChoicesFrom",
    "ConsensusRule",
    "FieldType",
    "InvalidLabel",
    "InvalidSchema",
    "LabelField",
    "LabelSchema",
    "OutputFormat",
    "Prefill",
    "RequiredSection",
    "SectionKey",
    "Validators",
    "check_sections",
    "clean_label",
    "common_errors",
    "initial_values",
    "is_refusal",
    "parse_schema",
    "require_sections",
    "schema_diff",
    "schema_to_dict",
    "sop_diff",
    "validate_label",
]
