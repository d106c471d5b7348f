"""``run_manifest.json``: what reproduces a run (config, data hash, code, packages, seed, hardware)."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "safetensors")


def code_version() -> str:
    """``git describe`` of the checkout holding this package; "unknown" outside git (a copied tree)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def manifest_build(
    *,
    run_id: str,
    method: str,
    release: Any,
    config: dict[str, Any],
    hardware: dict[str, Any],
    argv: list[str],
    outputs: dict[str, str],
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "method": method,
        "release": {
            "release_id": release.release_id,
            "path": str(release.path),
            "manifest_sha256": release.manifest_sha256,
            "version": release.manifest.get("version"),
        },
        "config": config,
        "seed": config["train"]["seed"],
        "code_version": code_version(),
        "packages": package_versions(),
        "hardware": hardware,
        "argv": argv,
        "outputs": outputs,
    }
