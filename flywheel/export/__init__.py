"""Export releases, plain Python (no Django): records → dedup → split → formats → writer → manifest.

    outcome = build_release(items, spec=spec, embed=embed, pii=PiiGate(scanner, cache), work=tmp, out=tmp)

The service (:mod:`flywheel.services.export`) supplies the items from the database, the
embedder and the project's scrubber, and publishes the directory atomically; the contract of the
files is docs/release-format.md, read back by ``training/release.py``.
"""

from flywheel.export.pii import MemoryScanCache, PiiGate, ScrubberScanner, SqliteScanCache
from flywheel.export.pipeline import BuildOutcome, build_release
from flywheel.export.records import (
    DEFAULT_MIX,
    ExportItem,
    ExportPolicy,
    Predecessor,
    ReleaseQuery,
    ReleaseSpec,
    Split,
)

__all__ = [
    "DEFAULT_MIX",
    "BuildOutcome",
    "ExportItem",
    "ExportPolicy",
    "MemoryScanCache",
    "PiiGate",
    "Predecessor",
    "ReleaseQuery",
    "ReleaseSpec",
    "ScrubberScanner",
    "Split",
    "SqliteScanCache",
    "build_release",
]
