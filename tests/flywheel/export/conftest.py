"""Core export fixtures: a build function over in-memory items, with the fake scrubber and embedder."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flywheel.export import (
    ExportPolicy,
    MemoryScanCache,
    PiiGate,
    ReleaseSpec,
    ScrubberScanner,
    build_release,
)
from flywheel.pii import FakeScrubber
from tests.flywheel.export.items import FakeEmbed

CREATED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def base_spec(**overrides) -> ReleaseSpec:
    spec = ReleaseSpec(
        project="acme",
        number=1,
        created_at=CREATED,
        code_version="test",
        policy=ExportPolicy(min_samples=20),
    )
    return replace(spec, **overrides)


@pytest.fixture
def build(tmp_path):
    """build(items, out=True, **spec fields) -> (outcome, release dir or None)."""
    counter = itertools.count()

    def run(items, *, out: bool = True, gate: PiiGate | None = None, embed=None, **spec_fields):
        root = tmp_path / f"build-{next(counter)}"
        work = root / ".work"
        work.mkdir(parents=True)
        release = root / "release"
        release.mkdir()
        outcome = build_release(
            list(items),
            spec=base_spec(**spec_fields),
            embed=embed or FakeEmbed(),
            pii=gate or PiiGate(ScrubberScanner(FakeScrubber(key=b"test-key")), MemoryScanCache()),
            work=work,
            out=release if out else None,
        )
        return outcome, (release if out else None)

    return run


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
