from flywheel.models.projects import Project, TraceSource
from flywheel.models.runs import Quarantine, SyncRun
from flywheel.models.traces import Observation, Score, Trace

__all__ = ["Observation", "Project", "Quarantine", "Score", "SyncRun", "Trace", "TraceSource"]
