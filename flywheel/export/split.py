"""Train / val / test: stratified, stable across releases, and never splitting what belongs together.

A *unit* is every entry tied by a shared group key (one trace, or a seed and its variants), the
same trace, a seed link, or a duplicate link (a removed duplicate ties its group to the kept
one's). A unit lands on one side as a whole.

- A unit that holds a group key with an assignment from an earlier release keeps it; when its
  keys disagree, held-out wins (test > val > train): an item once in val or test stays there.
- New units are placed per stratum (task type x cluster): each split's item quota is
  ``share x items in the stratum``, rounded up or down by a hash of the stratum (unbiased over
  many small strata), and the deficit left by earlier releases is filled with new units in the
  order of a hash of their group key. Same inputs, same placement; a new item never moves an
  old one.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from flywheel.export.records import Split


@dataclass(frozen=True, slots=True)
class SplitEntry:
    """What the split needs of one entry (in preference order, kept or a removed duplicate)."""

    item_key: str
    group_key: str
    stratum: tuple[str, str]  # (task_type, cluster or "none")
    trace_key: str | None = None
    seed_key: str | None = None


@dataclass
class SplitPlan:
    splits: list[Split | None]  # per entry; None for removed duplicates
    assignments: dict[str, Split]  # group_key -> split, every group key of every placed unit
    units: int = 0
    new_units: dict[str, int] = field(default_factory=dict)  # split -> units placed for the first time
    conflicts: int = 0  # units whose earlier assignments disagreed (held-out won)


def stable_unit(key: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def plan_splits(
    entries: Sequence[SplitEntry],
    representative: np.ndarray,
    existing: Mapping[str, Split],
    *,
    test_share: float,
    val_share: float,
) -> SplitPlan:
    units = _units(entries, representative)
    kept = representative == np.arange(len(entries))
    splits: list[Split | None] = [None] * len(entries)
    plan = SplitPlan(splits=splits, assignments={}, new_units={s.value: 0 for s in Split})
    by_stratum: dict[tuple[str, str], list[tuple[list[int], list[str], Split | None]]] = defaultdict(list)
    for members in units:
        placed = [i for i in members if kept[i]]
        if not placed:
            continue
        keys = sorted({entries[i].group_key for i in members})
        prior = {existing[k] for k in keys if k in existing}
        plan.conflicts += len(prior) > 1
        split = max(prior, key=lambda s: s.rank) if prior else None
        by_stratum[entries[placed[0]].stratum].append((placed, keys, split))
    plan.units = sum(len(group) for group in by_stratum.values())
    for stratum in sorted(by_stratum):
        _place(by_stratum[stratum], stratum, test_share, val_share, plan)
    return plan


def _place(
    units: list[tuple[list[int], list[str], Split | None]],
    stratum: tuple[str, str],
    test_share: float,
    val_share: float,
    plan: SplitPlan,
) -> None:
    total = sum(len(placed) for placed, _, _ in units)
    have = {s: sum(len(p) for p, _, split in units if split is s) for s in Split}
    fresh = sorted((u for u in units if u[2] is None), key=lambda u: (stable_unit(u[1][0], "split"), u[1][0]))
    label = "|".join(stratum)
    quota = {
        Split.TEST: _round(test_share * total, stable_unit(label, "round-test")),
        Split.VAL: _round(val_share * total, stable_unit(label, "round-val")),
    }
    chosen: dict[int, Split] = {}
    for split in (Split.TEST, Split.VAL):
        for position, (placed, _, _) in enumerate(fresh):
            if position in chosen:
                continue
            # Take the unit while it brings the split closer to its quota (rounding to nearest).
            if have[split] + len(placed) / 2 <= quota[split]:
                chosen[position] = split
                have[split] += len(placed)
    for position, (placed, keys, _) in enumerate(fresh):
        new = chosen.get(position, Split.TRAIN)
        plan.new_units[new.value] += 1
        _assign(placed, keys, new, plan)
    for placed, keys, prior in units:
        if prior is not None:
            _assign(placed, keys, prior, plan)


def _assign(placed: list[int], keys: list[str], split: Split, plan: SplitPlan) -> None:
    for i in placed:
        plan.splits[i] = split
    for key in keys:
        plan.assignments[key] = split


def _round(value: float, u: float) -> int:
    """Down or up with probability of the fraction (decided by ``u``): unbiased over many strata."""
    low = math.floor(value)
    return low + (1 if value - low > u else 0)


def _units(entries: Sequence[SplitEntry], representative: np.ndarray) -> list[list[int]]:
    """Entry indices of each unit (ascending), units ordered by their first entry."""
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    # One dict per kind of tie, keyed by the entries' own strings (no new key objects per entry).
    groups: dict[str, int] = {}
    traces: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, entry in enumerate(entries):
        union(i, groups.setdefault(entry.group_key, i))
        union(i, keys.setdefault(entry.item_key, i))
        if entry.trace_key:
            union(i, traces.setdefault(entry.trace_key, i))
        if entry.seed_key:
            union(i, keys.setdefault(entry.seed_key, i))
        if representative[i] != i:
            union(i, int(representative[i]))
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(entries)):
        members[find(i)].append(i)
    return [members[root] for root in sorted(members)]
