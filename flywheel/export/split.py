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

The planner works on arrays of 8-byte key digests (:func:`key_digest`), one row per entry, so a
100k release costs a few numpy sorts, not a Python object per entry.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flywheel.export.records import SPLITS, Split

NO_SPLIT = -1  # a removed duplicate's split code; also "no earlier assignment" in ``held``


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


@dataclass(frozen=True)
class SplitKeys:
    """The split's view of n entries. Digests are uint64 (0: no such key); ``held`` the rank of the
    split the entry's group key already has (``NO_SPLIT``: none); ``rank`` the preference order."""

    item: np.ndarray
    group: np.ndarray
    trace: np.ndarray
    seed: np.ndarray
    stratum: np.ndarray  # int codes into ``strata``
    strata: Sequence[tuple[str, str]]
    held: np.ndarray
    rank: np.ndarray


@dataclass
class CodePlan:
    split: np.ndarray  # (n,) int8 split rank per entry, NO_SPLIT for removed duplicates
    unit_split: np.ndarray  # (n,) int8 the split of each entry's unit (what its group key gets)
    units: int
    new_units: dict[str, int]
    conflicts: int


def key_digest(key: str | None) -> int:
    """8 bytes of blake2b, never 0 (0 stands for "no key")."""
    if not key:
        return 0
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


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
    """:func:`plan_codes` for entries given as records (in preference order)."""
    strata = sorted({e.stratum for e in entries})
    code = {s: i for i, s in enumerate(strata)}
    keys = SplitKeys(
        item=np.array([key_digest(e.item_key) for e in entries], dtype=np.uint64),
        group=np.array([key_digest(e.group_key) for e in entries], dtype=np.uint64),
        trace=np.array([key_digest(e.trace_key) for e in entries], dtype=np.uint64),
        seed=np.array([key_digest(e.seed_key) for e in entries], dtype=np.uint64),
        stratum=np.array([code[e.stratum] for e in entries], dtype=np.int64),
        strata=strata,
        held=np.array(
            [existing[e.group_key].rank if e.group_key in existing else NO_SPLIT for e in entries],
            dtype=np.int8,
        ),
        rank=np.arange(len(entries)),
    )
    planned = plan_codes(keys, representative, test_share=test_share, val_share=val_share)
    splits: list[Split | None] = [SPLITS[s] if s >= 0 else None for s in planned.split.tolist()]
    assignments = {e.group_key: SPLITS[s] for e, s in zip(entries, planned.unit_split.tolist(), strict=True)}
    return SplitPlan(splits, assignments, planned.units, planned.new_units, planned.conflicts)


def plan_codes(
    keys: SplitKeys, representative: np.ndarray, *, test_share: float, val_share: float
) -> CodePlan:
    n = len(keys.item)
    new_units = {s.value: 0 for s in Split}
    if n == 0:
        empty = np.zeros(0, np.int8)
        return CodePlan(empty, empty, 0, new_units, 0)
    unit = _units(keys, np.asarray(representative))
    units = int(unit.max()) + 1
    kept = np.asarray(representative) == np.arange(n)
    size = np.bincount(unit[kept], minlength=units)
    # The stratum of a unit is its preferred kept entry's; its prior split the highest held one.
    kept_idx = np.flatnonzero(kept)
    order = kept_idx[np.lexsort((keys.rank[kept_idx], unit[kept_idx]))]
    head = np.ones(len(order), dtype=bool)
    head[1:] = unit[order][1:] != unit[order][:-1]
    stratum = np.full(units, -1, dtype=np.int64)
    stratum[unit[order[head]]] = keys.stratum[order[head]]
    prior = np.full(units, NO_SPLIT, dtype=np.int64)
    held = keys.held.astype(np.int64)
    np.maximum.at(prior, unit, held)
    seen = np.zeros(units, dtype=np.int64)
    has = held >= 0
    np.bitwise_or.at(seen, unit[has], 1 << held[has])
    conflicts = int(sum(bin(v).count("1") > 1 for v in seen[seen > 0].tolist()))
    hashed = np.full(units, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(hashed, unit, keys.group)
    result = prior.copy()
    placed = size > 0
    for code in np.unique(stratum[placed]).tolist():
        members = np.flatnonzero(placed & (stratum == code))
        _place(members, size, prior, hashed, "|".join(keys.strata[code]), test_share, val_share, result)
    for s, name in enumerate(s.value for s in SPLITS):
        new_units[name] = int(((prior == NO_SPLIT) & placed & (result == s)).sum())
    unit_split = result[unit].astype(np.int8)
    return CodePlan(
        split=np.where(kept, unit_split, NO_SPLIT).astype(np.int8),
        unit_split=unit_split,
        units=int(placed.sum()),
        new_units=new_units,
        conflicts=conflicts,
    )


def _place(
    members: np.ndarray,
    size: np.ndarray,
    prior: np.ndarray,
    hashed: np.ndarray,
    label: str,
    test_share: float,
    val_share: float,
    result: np.ndarray,
) -> None:
    total = int(size[members].sum())
    have = {s.rank: int(size[members[prior[members] == s.rank]].sum()) for s in Split}
    fresh = members[prior[members] == NO_SPLIT]
    fresh = fresh[np.lexsort((fresh, hashed[fresh]))]
    quota = {
        Split.TEST.rank: _round(test_share * total, stable_unit(label, "round-test")),
        Split.VAL.rank: _round(val_share * total, stable_unit(label, "round-val")),
    }
    result[fresh] = Split.TRAIN.rank
    free = np.ones(len(fresh), dtype=bool)
    sizes = size[fresh].tolist()
    for split in (Split.TEST.rank, Split.VAL.rank):
        room = quota[split] - have[split]
        for position in np.flatnonzero(free).tolist():
            # Take the unit while it brings the split closer to its quota (rounding to nearest).
            if sizes[position] / 2 <= room:
                free[position] = False
                result[fresh[position]] = split
                room -= sizes[position]
            elif room <= 0:
                break


def _round(value: float, u: float) -> int:
    """Down or up with probability of the fraction (decided by ``u``): unbiased over many strata."""
    low = math.floor(value)
    return low + (1 if value - low > u else 0)


def _units(keys: SplitKeys, representative: np.ndarray) -> np.ndarray:
    """Unit id of each entry: connected components of the ties, numbered by their first entry."""
    n = len(keys.item)
    a: list[np.ndarray] = [np.arange(n)]
    b: list[np.ndarray] = [representative.astype(np.int64)]
    for codes, rows in (
        (keys.group, np.arange(n)),
        (keys.trace[keys.trace != 0], np.flatnonzero(keys.trace != 0)),
        # Item keys and seed keys share one space: a variant ties to its seed and to its siblings.
        (
            np.concatenate([keys.item, keys.seed[keys.seed != 0]]),
            np.concatenate([np.arange(n), np.flatnonzero(keys.seed != 0)]),
        ),
    ):
        order = np.argsort(codes, kind="stable")
        same = codes[order][1:] == codes[order][:-1]
        a.append(rows[order][1:][same])
        b.append(rows[order][:-1][same])
    left, right = np.concatenate(a), np.concatenate(b)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    # Renumber by first entry, so unit ids do not depend on scipy's labelling.
    first = np.full(int(component.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, component, np.arange(n))
    _, renumbered = np.unique(first[component], return_inverse=True)
    return renumbered.astype(np.int64).reshape(-1)
