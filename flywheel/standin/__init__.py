"""A faithful Langfuse stand-in: plain stdlib HTTP, for tests and the demo (no Django).

See ``flywheel.standin.server`` for the Python API and ``python -m flywheel.standin`` for
serving bundles from disk.
"""

from flywheel.standin.faults import FaultKind
from flywheel.standin.handlers import RequestRecord
from flywheel.standin.server import LangfuseStandin
from flywheel.standin.store import StoredScore

__all__ = ["FaultKind", "LangfuseStandin", "RequestRecord", "StoredScore"]
