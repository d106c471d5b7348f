"""manifest.json: counts, mix against the target, lineage summaries, the diff, hashes, code version.

Everything in it is a function of the build's inputs (the items and the ``ReleaseSpec``), so
the same inputs give the same bytes; how long a run took or what a cache knew is not in it.
"""

from __future__ import annotations

import platform
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from flywheel.export.records import SPLITS, ExportItem, ReleaseSpec, Split, iso
from flywheel.export.spill import Facts

MANIFEST_VERSION = 1
PACKAGES = ("jsonschema", "numpy", "scipy", "presidio-analyzer", "spacy", "sentence-transformers")
DIFF_KEYS_SHOWN = 100
MIX_OFF = "sample type {name!r} is {actual:.0%} of the release, target {target:.0%} (margin {margin:.0%})"
MIX_UNKNOWN = "sample type {name!r} ({count} items) is not in the target mix"
NO_HARD = "{split} has no hard items while train has {train}; held-out sets should keep their hard cases"
NO_DPO = "dpo/{split}.jsonl has no rows: DPO training on this release will refuse it"
ALPACA_SKIPPED = "{count} item(s) left out of the LLaMA-Factory files: {reason}"


def code_version() -> str:
    """``git describe`` of this checkout; "unknown" outside git (a copied tree, a wheel)."""
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
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _sorted(counter: Mapping[Any, int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counter.items(), key=lambda kv: (str(kv[0]) == "None", str(kv[0])))}


class Tally:
    """Counts of the rows actually written, fed item by item during the write pass."""

    SLICES = ("sample_type", "task_type", "cluster", "difficulty", "origin", "output_format")

    def __init__(self) -> None:
        self._items: Counter[str] = Counter()
        self.sft: Counter[str] = Counter()
        self.dpo: Counter[str] = Counter()
        self.alpaca: Counter[str] = Counter()
        self.alpaca_skipped: Counter[str] = Counter()
        self.by_split: dict[str, dict[str, Counter[Any]]] = {
            s.value: {name: Counter() for name in (*self.SLICES, "must_refuse")} for s in SPLITS
        }
        self.cells: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self._sop_versions: Counter[Any] = Counter()
        self.annotators: Counter[str] = Counter()
        self.reviewers: Counter[str] = Counter()
        self.decisions: Counter[str] = Counter()
        self.multi_annotated = 0
        # Rows are counted by their combination of tallied fields (few distinct ones in a release)
        # and spread over the counters when a figure is read: one dict update per row.
        self._pending: Counter[tuple[Any, ...]] = Counter()

    def add(self, item: ExportItem | Facts, split: Split, *, dpo: bool) -> None:
        self._pending[
            (
                split.value,
                item.sample_type,
                item.task_type,
                item.cluster,
                item.difficulty,
                item.origin,
                item.output_format,
                item.must_refuse,
                item.sop_version,
                tuple(item.annotators),
                item.annotator,
                item.reviewer,
                item.decision,
                dpo,
            )
        ] += 1

    def _settle(self) -> None:
        pending, self._pending = self._pending, Counter()
        for row, k in pending.items():
            s, sample_type, task_type, cluster, difficulty, origin, output_format = row[:7]
            must_refuse, sop_version, annotators, annotator, reviewer, decision, dpo = row[7:]
            self._items[s] += k
            self.sft[s] += k
            self.dpo[s] += k * int(dpo)
            slices = self.by_split[s]
            values = (sample_type, task_type, cluster, difficulty, origin, output_format)
            for name, value in zip(self.SLICES, values, strict=True):
                slices[name][value or "none"] += k
            slices["must_refuse"][str(must_refuse).lower()] += k
            cell = self.cells[(s, sample_type, task_type, cluster or "none")]
            cell[0] += k
            cell[1] += k * int(dpo)
            self._sop_versions[sop_version] += k
            for name in annotators or ((annotator,) if annotator else ()):
                self.annotators[name] += k
            if reviewer:
                self.reviewers[reviewer] += k
            self.decisions[decision or "none"] += k
            self.multi_annotated += k * (len(annotators) >= 2)

    @property
    def items(self) -> Counter[str]:
        self._settle()
        return self._items

    @property
    def sop_versions(self) -> Counter[Any]:
        self._settle()
        return self._sop_versions

    @property
    def total(self) -> int:
        return sum(self.items.values())

    def counts(self) -> dict[str, Any]:
        self._settle()
        return {
            "items": self.total,
            "sft": {s.value: self.sft[s.value] for s in SPLITS},
            "dpo": {s.value: self.dpo[s.value] for s in SPLITS},
            "llamafactory": {
                "rows": _sorted(self.alpaca),
                "skipped": _sorted(self.alpaca_skipped),
            },
            "by_split": {
                s: {name: _sorted(counter) for name, counter in slices.items()}
                for s, slices in self.by_split.items()
            },
            "cells": [
                {
                    "split": k[0],
                    "sample_type": k[1],
                    "task_type": k[2],
                    "cluster": k[3],
                    "sft": v[0],
                    "dpo": v[1],
                }
                for k, v in sorted(self.cells.items())
            ],
        }

    def mix(self, target: Mapping[str, float], margin: float) -> tuple[dict[str, Any], list[str]]:
        self._settle()
        totals: Counter[str] = Counter()
        for slices in self.by_split.values():
            totals.update(slices["sample_type"])
        return mix_report(totals, target, margin)

    def warnings(self) -> list[str]:
        self._settle()
        out = []
        hard_train = self.by_split["train"]["difficulty"].get("hard", 0)
        for split in ("val", "test"):
            if hard_train and self.items[split] and not self.by_split[split]["difficulty"].get("hard"):
                out.append(NO_HARD.format(split=split, train=hard_train))
        if any(self.dpo.values()):
            out += [
                NO_DPO.format(split=s.value) for s in SPLITS if s is not Split.VAL and not self.dpo[s.value]
            ]
        out += [ALPACA_SKIPPED.format(count=n, reason=r) for r, n in sorted(self.alpaca_skipped.items())]
        return out

    def people(self) -> dict[str, Any]:
        self._settle()
        return {
            "annotators": {"count": len(self.annotators), "items": _sorted(self.annotators)},
            "reviewers": {"count": len(self.reviewers), "items": _sorted(self.reviewers)},
        }

    def agreement_counts(self) -> dict[str, Any]:
        self._settle()
        return {
            "source": "counts",
            "decisions": _sorted(self.decisions),
            "multi_annotated": self.multi_annotated,
            "single_annotated": self.total - self.multi_annotated,
        }


def mix_report(
    totals: Mapping[str, int], target: Mapping[str, float], margin: float
) -> tuple[dict[str, Any], list[str]]:
    """Each sample type's share against the target; a warning per type off by more than ``margin``."""
    n = sum(totals.values()) or 1
    warnings, off, rows = [], [], {}
    for name in sorted(set(target) | set(totals)):
        count = totals.get(name, 0)
        share = count / n
        rows[name] = {"count": count, "share": round(share, 4), "target": target.get(name)}
        if name not in target:
            warnings.append(MIX_UNKNOWN.format(name=name, count=count))
            off.append(name)
        elif abs(share - target[name]) > margin:
            warnings.append(MIX_OFF.format(name=name, actual=share, target=target[name], margin=margin))
            off.append(name)
    return {"margin": margin, "types": rows, "off": off}, warnings


def diff_rows(
    current: Iterable[tuple[str, Split]], previous: Mapping[str, Split]
) -> Iterator[dict[str, Any]]:
    """Changed items, by key: added, removed, or moved between splits. ``current`` sorted by key."""
    old = iter(sorted(previous.items()))
    pending = next(old, None)
    for key, split in current:
        while pending is not None and pending[0] < key:
            yield {"item": pending[0], "change": "removed", "from": pending[1].value, "to": None}
            pending = next(old, None)
        if pending is not None and pending[0] == key:
            if pending[1] is not split:
                yield {"item": key, "change": "moved", "from": pending[1].value, "to": split.value}
            pending = next(old, None)
        else:
            yield {"item": key, "change": "added", "from": None, "to": split.value}
    while pending is not None:
        yield {"item": pending[0], "change": "removed", "from": pending[1].value, "to": None}
        pending = next(old, None)


class DiffSummary:
    def __init__(self, predecessor: str) -> None:
        self.predecessor = predecessor
        self.counts: Counter[str] = Counter()
        self.keys: dict[str, list[str]] = {"added": [], "removed": [], "moved": []}

    def add(self, row: Mapping[str, Any]) -> None:
        self.counts[row["change"]] += 1
        shown = self.keys[row["change"]]
        if len(shown) < DIFF_KEYS_SHOWN:
            shown.append(row["item"])

    def to_dict(self, current_total: int) -> dict[str, Any]:
        changed = self.counts["added"] + self.counts["moved"]
        return {
            "predecessor": self.predecessor,
            "added": self.counts["added"],
            "removed": self.counts["removed"],
            "moved": self.counts["moved"],
            "unchanged": current_total - changed,
            "keys_shown": DIFF_KEYS_SHOWN,
            "added_keys": self.keys["added"],
            "removed_keys": self.keys["removed"],
            "moved_keys": self.keys["moved"],
            "file": "diff.jsonl",
        }


def manifest_base(spec: ReleaseSpec) -> dict[str, Any]:
    """The manifest's head, in the order a person reads it (the training module reads the first keys)."""
    return {
        "release_id": spec.release_id,
        "version": spec.number,
        "created_at": iso(spec.created_at),
        "manifest_version": MANIFEST_VERSION,
        "project": spec.project,
        "predecessor": spec.predecessor.release_id if spec.predecessor else None,
        "query": {"project": spec.project, **spec.query.to_dict()},
        "policy": spec.policy.to_dict(),
        "forced": spec.force,
        "code_version": spec.code_version,
    }
