from flywheel.models.failures import Cluster, ClusterRun, Embedding, Failure, FailureRule
from flywheel.models.projects import Project, TraceSource
from flywheel.models.runs import Quarantine, SyncRun
from flywheel.models.traces import Observation, Score, Trace

__all__ = [
    "Cluster",
    "ClusterRun",
    "Embedding",
    "Failure",
    "FailureRule",
    "Observation",
    "Project",
    "Quarantine",
    "Score",
    "SyncRun",
    "Trace",
    "TraceSource",
]
