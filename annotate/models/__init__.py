from annotate.models.labeling import (
    ROLE_RANK,
    SOP,
    Annotation,
    Assignment,
    LabelingPolicy,
    Membership,
    Role,
    Task,
)
from annotate.models.review import AugmentRun, ReviewAction, Sample

__all__ = [
    "ROLE_RANK",
    "SOP",
    "Annotation",
    "Assignment",
    "AugmentRun",
    "LabelingPolicy",
    "Membership",
    "ReviewAction",
    "Role",
    "Sample",
    "Task",
]
