"""Write-back core (no Django): labels and cluster memberships as Langfuse scores.

``payloads`` builds ``CreateScoreRequest`` bodies with deterministic ids from plain records,
``plan`` diffs them against what was written before, ``client`` sends them through the SDK.
The service ``flywheel.services.writeback`` joins them to the ORM; ``docs/writeback.md`` is
the user-facing description.
"""

from flywheel.writeback.client import Refused, ScoreWriter, SendOutcome
from flywheel.writeback.payloads import CORRECTION_NAME, cluster_score, label_scores, score_id
from flywheel.writeback.plan import TracePlan, Written, batches, plan_trace
from flywheel.writeback.records import (
    ClusterRecord,
    LabelRecord,
    ScorePayload,
    TraceRef,
    WritebackConfig,
)

__all__ = [
    "CORRECTION_NAME",
    "ClusterRecord",
    "LabelRecord",
    "Refused",
    "ScorePayload",
    "ScoreWriter",
    "SendOutcome",
    "TracePlan",
    "TraceRef",
    "WritebackConfig",
    "Written",
    "batches",
    "cluster_score",
    "label_scores",
    "plan_trace",
    "score_id",
]
