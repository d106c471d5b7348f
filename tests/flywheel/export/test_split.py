"""Train / val / test placement: whole units, stratified, stable across releases, deterministic."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np

from flywheel.export.records import Split
from flywheel.export.split import SplitEntry, plan_splits


def plain(entries: list[SplitEntry]) -> np.ndarray:
    return np.arange(len(entries))


def entries_for(n: int, strata: int = 4) -> list[SplitEntry]:
    return [
        SplitEntry(f"item-{i:04d}", f"group-{i:04d}", (f"task{i % strata}", f"C{i % 3}")) for i in range(n)
    ]


def plan(entries, representative=None, existing=None, test=0.1, val=0.1):
    rep = plain(entries) if representative is None else representative
    return plan_splits(entries, rep, existing or {}, test_share=test, val_share=val)


def test_a_trace_a_seed_with_its_variants_and_near_duplicates_each_land_on_one_side():
    entries = entries_for(400)
    entries[1] = SplitEntry("item-0001", "group-0001", ("task1", "C1"), trace_key="T")
    entries[2] = SplitEntry("item-0002", "group-0002", ("task2", "C2"), trace_key="T")  # same trace
    entries[3] = SplitEntry("seed", "group-seed", ("task3", "C0"))
    entries[4] = SplitEntry("variant", "group-variant", ("task0", "C1"), seed_key="seed")
    entries[5] = SplitEntry("v2", "group-seed", ("task1", "C2"))  # shares the seed's group key
    representative = plain(entries)
    representative[7] = 6  # 7 is a removed near duplicate of 6, so 7's group joins 6's
    entries[8] = SplitEntry("sibling-of-7", entries[7].group_key, ("task0", "C2"))
    for trial in range(20):  # whatever the hashes decide, the ties hold
        shuffled = [
            SplitEntry(
                e.item_key + f"-{trial}" * (i > 8),
                e.group_key + f"-{trial}" * (i > 8),
                e.stratum,
                e.trace_key,
                e.seed_key,
            )
            for i, e in enumerate(entries)
        ]
        result = plan(shuffled, representative)
        s = result.splits
        assert s[1] == s[2]
        assert s[3] == s[4] == s[5]
        assert s[6] == s[8] and s[7] is None
    assert Counter(result.splits).get(None) == 1


def test_new_items_are_stratified_by_task_type_and_cluster_at_the_configured_shares():
    entries = entries_for(6000, strata=5)
    result = plan(entries, test=0.1, val=0.15)
    for stratum in {e.stratum for e in entries}:
        members = [s for e, s in zip(entries, result.splits, strict=True) if e.stratum == stratum]
        shares = Counter(members)
        assert abs(shares[Split.TEST] / len(members) - 0.10) < 0.01
        assert abs(shares[Split.VAL] / len(members) - 0.15) < 0.01


def test_many_small_strata_still_give_the_configured_share_overall():
    entries = [SplitEntry(f"i{i}", f"g{i}", (f"task{i}", "C1")) for i in range(3000)]  # one item per stratum
    shares = Counter(plan(entries).splits)
    assert 0.08 < shares[Split.TEST] / 3000 < 0.12 and 0.08 < shares[Split.VAL] / 3000 < 0.12


def test_held_out_groups_stay_held_out_and_new_groups_fill_the_quota_around_them():
    first = entries_for(500)
    v1 = plan(first)
    grown = entries_for(1000)
    v2 = plan(grown, existing=v1.assignments)
    for entry, split in zip(first, v1.splits, strict=True):
        assert v2.assignments[entry.group_key] is split
    shares = Counter(v2.splits)
    assert abs(shares[Split.TEST] / 1000 - 0.1) < 0.02
    assert v2.new_units[Split.TEST.value] + sum(s is Split.TEST for s in v1.splits) == shares[Split.TEST]


def test_an_existing_held_out_group_is_kept_even_when_its_stratum_is_over_quota():
    entries = entries_for(50)
    existing = {e.group_key: Split.TEST for e in entries[:20]}
    result = plan(entries, existing=existing)
    assert all(s is Split.TEST for s in result.splits[:20])
    assert all(s is not Split.TEST for s in result.splits[20:])


def test_when_joined_groups_had_different_splits_held_out_wins():
    entries = [
        SplitEntry("a", "ga", ("t", "C1"), trace_key="T"),
        SplitEntry("b", "gb", ("t", "C1"), trace_key="T"),
        SplitEntry("c", "gc", ("t", "C1"), trace_key="T"),
    ]
    result = plan(entries, existing={"ga": Split.TRAIN, "gb": Split.TEST, "gc": Split.VAL})
    assert result.splits == [Split.TEST] * 3
    assert result.assignments == {"ga": Split.TEST, "gb": Split.TEST, "gc": Split.TEST}
    assert result.conflicts == 1


def test_placement_depends_on_the_items_not_on_the_order_they_came_in():
    entries = entries_for(300)
    reference = dict(zip((e.item_key for e in entries), plan(entries).splits, strict=True))
    shuffled = entries[:]
    random.Random(4).shuffle(shuffled)
    again = dict(zip((e.item_key for e in shuffled), plan(shuffled).splits, strict=True))
    assert again == reference
