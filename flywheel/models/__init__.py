from flywheel.models.failures import Cluster, ClusterRun, Embedding, Failure, FailureRule
from flywheel.models.nightly import NightlyRun, ScoreWrite
from flywheel.models.projects import Project, TraceSource
from flywheel.models.releases import FlywheelPolicy, Release, ReleaseItem, SplitAssignment
from flywheel.models.runs import Quarantine, SyncRun
from flywheel.models.traces import Observation, Score, Trace
from flywheel.models.training import TrainingRun

__all__ = [
    "Cluster",
    "ClusterRun",
    "Embedding",
    "Failure",
    "FailureRule",
    "FlywheelPolicy",
    "NightlyRun",
    "Observation",
    "Project",
    "Quarantine",
    "Release",
    "ReleaseItem",
    "Score",
    "ScoreWrite",
    "SplitAssignment",
    "SyncRun",
    "Trace",
    "TraceSource",
    "TrainingRun",
]
