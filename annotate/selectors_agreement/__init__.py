"""Ratings from the database, shaped for the agreement core (:mod:`annotate.agreement`).

:func:`rating_data` reads the filtered annotations, final labels and gold answers once and
hands each field to the core as :class:`~annotate.agreement.RatingColumns` (numpy columns, no
object per rating), the submissions as :class:`~annotate.agreement.WorkColumns`:

- :mod:`.schema`: the fields of the newest published SOP, and how older values fit them;
- :mod:`.queries`: the three SELECTs, and rows in batches as the driver gives them;
- :mod:`.read`: rows into columns (each distinct label decoded once), boundary items.
"""

from annotate.selectors_agreement.queries import (
    ANNOTATION_COLUMNS,
    BATCH,
    CHUNK,
    JSONWithout,
    StoredTime,
    annotation_rows,
    filtered_annotations,
    rating_queries,
    work_list,
)
from annotate.selectors_agreement.read import RatingData, rating_data
from annotate.selectors_agreement.schema import (
    BOUNDARY,
    MUST_REFUSE,
    SAMPLE_TYPE,
    TEXT_FIELD,
    UNKNOWN_FIELD,
    AgreementSchema,
    FieldSpec,
    agreement_schema,
    chosen_fields,
)

__all__ = [
    "ANNOTATION_COLUMNS",
    "BATCH",
    "BOUNDARY",
    "CHUNK",
    "MUST_REFUSE",
    "SAMPLE_TYPE",
    "TEXT_FIELD",
    "UNKNOWN_FIELD",
    "AgreementSchema",
    "FieldSpec",
    "JSONWithout",
    "RatingData",
    "StoredTime",
    "agreement_schema",
    "annotation_rows",
    "chosen_fields",
    "filtered_annotations",
    "rating_data",
    "rating_queries",
    "work_list",
]
