"""Review core, plain Python: a whole label's consensus, side-by-side differences, the diff of a
corrected answer, and the sample a final label becomes. The service
(:mod:`annotate.services.review`) joins them to the ORM."""

from annotate.review.compare import FieldComparison, compare_votes
from annotate.review.content import SampleContent, answer_field, sample_content
from annotate.review.diff import DiffLine, line_diff
from annotate.review.label import LabelConsensus, label_consensus

__all__ = [
    "DiffLine",
    "FieldComparison",
    "LabelConsensus",
    "SampleContent",
    "answer_field",
    "compare_votes",
    "label_consensus",
    "line_diff",
    "sample_content",
]
