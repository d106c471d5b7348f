"""Inter-annotator agreement: the plain core behind the dashboard, the API and ``manage.py agreement``.

No Django here: a service turns stored labels into :class:`RatingColumns` (numpy columns, the
same data as a list of :class:`Rating` records without an object per rating) and submissions
into :class:`WorkColumns`, and calls :func:`field_report`, which takes either form. The
formulas are the well-kept libraries' (scikit-learn's Cohen's kappa, statsmodels' Fleiss'
kappa, the ``krippendorff`` package); this package shapes the data for them, handles missing
values and the undefined cases, and makes the bootstrap and the 435 annotator pairs fast
enough for a dashboard.

    table = rating_table(ratings, level="ordinal", categories=("easy", "medium", "hard"))
    krippendorff_alpha(table, bootstrap=200, seed=0)  # Estimate(value, ci_low, ci_high, ...)
    field_report(ratings, level="nominal", categories=schema.field("verdict").choices)
"""

from annotate.agreement.alpha import krippendorff_alpha
from annotate.agreement.annotators import (
    AnnotatorStats,
    Pace,
    Share,
    Work,
    WorkColumns,
    annotator_pace,
    annotator_stats,
)
from annotate.agreement.choices import set_table, set_table_from_columns, split_choices
from annotate.agreement.columns import Coded, RatingColumns, rating_table_from_columns
from annotate.agreement.consensus import Consensus, consensus, normalise
from annotate.agreement.csvfile import EXPECTED_COLUMNS, read_ratings_csv
from annotate.agreement.report import (
    agreement_from_csv,
    boundary_consistency,
    field_report,
    table_report,
    trend,
    weekly_trend,
)
from annotate.agreement.result import NEEDS_TWO, NO_VARIATION, Estimate
from annotate.agreement.stats import (
    MIN_SHARED,
    FleissKappa,
    PairwiseKappa,
    Weights,
    fleiss,
    pairwise_cohen,
    percent_agreement,
)
from annotate.agreement.table import (
    Level,
    Rating,
    RatingTable,
    level_for_field,
    parse_level,
    rating_table,
)

__all__ = [
    "EXPECTED_COLUMNS",
    "MIN_SHARED",
    "NEEDS_TWO",
    "NO_VARIATION",
    "AnnotatorStats",
    "Coded",
    "Consensus",
    "Estimate",
    "FleissKappa",
    "Level",
    "Pace",
    "PairwiseKappa",
    "Rating",
    "RatingColumns",
    "RatingTable",
    "Share",
    "Weights",
    "Work",
    "WorkColumns",
    "agreement_from_csv",
    "annotator_pace",
    "annotator_stats",
    "boundary_consistency",
    "consensus",
    "field_report",
    "fleiss",
    "krippendorff_alpha",
    "level_for_field",
    "normalise",
    "pairwise_cohen",
    "parse_level",
    "percent_agreement",
    "rating_table",
    "rating_table_from_columns",
    "read_ratings_csv",
    "set_table",
    "set_table_from_columns",
    "split_choices",
    "table_report",
    "trend",
    "weekly_trend",
]
