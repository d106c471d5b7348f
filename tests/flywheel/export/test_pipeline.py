"""A whole build from in-memory items: the training module's checks, determinism, refusals, manifest."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

import numpy as np
import pytest

from flywheel.export import ExportPolicy, Predecessor, ReleaseQuery, Split
from tests.flywheel.export.conftest import CREATED, files_of
from tests.flywheel.export.items import FakeEmbed, make_items
from training.release import release_load

ITEMS = list(make_items(120))


def test_a_build_passes_the_training_modules_release_check_for_sft_and_dpo(build):
    outcome, root = build(ITEMS)
    assert outcome.problems == []
    for method in ("sft", "dpo"):
        release = release_load(root, method=method)
        assert release.release_id == "acme-v1"
        assert all(release.rows[s] for s in ("train", "test"))
    sft = release_load(root, method="sft")
    ids = {s: {row["meta"]["id"] for row in sft.rows[s]} for s in sft.rows}
    assert sum(len(v) for v in ids.values()) == len(ITEMS) == outcome.manifest["counts"]["items"]
    assert [key for key, _ in outcome.items] == sorted(item.item_key for item in ITEMS)


def test_every_file_is_listed_with_its_sha256_and_dataset_info_with_the_sha1(build):
    _, root = build(ITEMS)
    manifest = json.loads((root / "manifest.json").read_text())
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == entry["sha256"]
    info = json.loads((root / "llamafactory/dataset_info.json").read_text())
    for entry in info.values():
        data = (root / "llamafactory" / entry["file_name"]).read_bytes()
        assert hashlib.sha1(data).hexdigest() == entry["file_sha1"]  # noqa: S324 (LLaMA-Factory's field)
        assert len(json.loads(data)) == manifest["files"][f"llamafactory/{entry['file_name']}"]["rows"]


def test_every_file_loads_with_datasets_load_dataset_json(build):
    from datasets import load_dataset

    _, root = build(ITEMS)
    manifest = json.loads((root / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        if name.endswith((".jsonl", ".json")) and name != "llamafactory/dataset_info.json" and entry["rows"]:
            dataset = load_dataset("json", data_files=str(root / name), split="train")
            assert len(dataset) == entry["rows"], name


def test_the_same_inputs_in_any_order_give_byte_identical_files(build):
    _, first = build(ITEMS)
    shuffled = ITEMS[:]
    random.Random(7).shuffle(shuffled)
    _, second = build(shuffled)
    assert files_of(first) == files_of(second)


def test_a_dry_run_writes_nothing_and_reports_the_manifest_a_real_run_writes(build):
    outcome, root = build(ITEMS)
    dry, none = build(ITEMS, out=False)
    assert none is None and dry.manifest == outcome.manifest
    assert dry.manifest_sha256 == hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()


def test_the_manifest_reports_counts_the_mix_against_the_target_and_lineage(build):
    outcome, _ = build(ITEMS)
    m = outcome.manifest
    assert (m["release_id"], m["version"], m["created_at"], m["predecessor"]) == (
        "acme-v1",
        1,
        "2026-11-23T02:00:00Z",
        None,
    )
    counts = m["counts"]
    assert sum(counts["sft"].values()) == counts["items"] == len(ITEMS)
    assert sum(c["sft"] for c in counts["cells"]) == counts["items"]
    assert sum(c["dpo"] for c in counts["cells"]) == sum(counts["dpo"].values())
    assert set(counts["cells"][0]) == {"split", "sample_type", "task_type", "cluster", "sft", "dpo"}
    types = m["mix"]["types"]
    assert {name: row["target"] for name, row in types.items()} == {
        "boundary": 0.3,
        "generic": 0.1,
        "golden": 0.4,
        "negative": 0.2,
    }
    off = [name for name, row in types.items() if abs(row["share"] - row["target"]) > 0.1]
    assert m["mix"]["off"] == off and off
    assert [w for w in m["warnings"] if w.startswith("sample type")] == [
        f"sample type {name!r} is {types[name]['share']:.0%} of the release, "
        f"target {types[name]['target']:.0%} (margin 10%)"
        for name in off
    ]
    assert m["people"]["annotators"]["count"] == 2 and m["sop_versions"] == {"1": len(ITEMS)}
    assert m["agreement"]["source"] == "counts"
    assert m["pii"]["passed"] and m["leak"]["overlap"] == 0
    assert m["checks"]["json_answers"] == sum(
        1 for i in ITEMS if i.output_format == "json" and not i.must_refuse
    )
    splits = dict(outcome.items)
    tools = [i for i in ITEMS if i.prompt[-1]["role"] == "tool" and splits[i.item_key] is not Split.TEST]
    skipped = {"tool calls or tool results (Alpaca has no place for them)": len(tools)}
    assert counts["llamafactory"]["skipped"] == skipped
    alpaca = counts["llamafactory"]["rows"]
    assert alpaca["sft"] + alpaca["sft-val"] == len(ITEMS) - counts["sft"]["test"] - len(tools)


def test_too_few_samples_are_refused_unless_forced(build):
    outcome, _ = build(ITEMS, policy=ExportPolicy(min_samples=500))
    assert outcome.problems == [f"{len(ITEMS)} samples after de-duplication, fewer than the minimum of 500"]
    forced, _ = build(ITEMS, policy=ExportPolicy(min_samples=500), force=True)
    assert forced.problems == []
    assert forced.warnings[0] == f"published with {len(ITEMS)} samples, below the minimum of 500 (forced)"


def test_a_broken_json_golden_answer_and_pii_refuse_with_every_reason(build):
    broken = replace(ITEMS[1], answer='{"order_id": "A-1", "status": ')
    leaky = replace(ITEMS[0], answer="Please ask Alice, she knows.")
    outcome, _ = build([broken, leaky, *ITEMS[2:]])
    assert outcome.refused
    assert outcome.problems[0].startswith(
        f"item {broken.item_key}: the golden answer of a JSON task does not parse"
    )
    assert outcome.problems[1].startswith(
        "the PII gate found 1 span(s) in 1 exported text(s) of 1 item(s): PERSON 1"
    )
    assert "Alice" not in " ".join(outcome.problems)


def test_a_held_out_item_of_the_predecessor_that_would_land_in_train_is_refused_as_a_leak(build):
    victim = next(i for i in ITEMS if i.sample_type == "generic")
    predecessor = Predecessor("acme-v1", CREATED, {victim.item_key: Split.TEST})
    # The group's assignment was lost (say, restored from an old backup): the split would move it.
    outcome, _ = build(ITEMS, number=2, predecessor=predecessor, existing_splits={})
    placed = dict(outcome.items)[victim.item_key]
    if placed is Split.TRAIN:
        assert any("it must not be trained on now" in p for p in outcome.problems)
    kept, _ = build(ITEMS, number=2, predecessor=predecessor, existing_splits={victim.group_key: Split.TEST})
    assert dict(kept.items)[victim.item_key] is Split.TEST and kept.problems == []


def test_an_empty_test_split_is_refused(build):
    outcome, _ = build(ITEMS[:5], policy=ExportPolicy(min_samples=1, test_share=0.0))
    assert outcome.problems == [
        "the test split is empty: there is nothing to evaluate on (need more items, or a higher test_share)"
    ]


def test_duplicates_are_removed_before_the_split_and_reported(build):
    copy = replace(
        ITEMS[3], item_key="lf:zz-copy", group_key="trace:lf:zz-copy", answer=ITEMS[3].answer.upper() + "!!"
    )
    outcome, _ = build([*ITEMS, copy])
    assert outcome.manifest["dedup"]["exact_removed"] == 1
    assert outcome.manifest["dedup"]["removed"] == [
        {"item": "lf:zz-copy", "kept": ITEMS[3].item_key, "reason": "exact"}
    ]
    assert "lf:zz-copy" not in dict(outcome.items)


class NearEmbed(FakeEmbed):
    """Gives two chosen texts almost the same vector: a near duplicate without shared wording."""

    def __init__(self, pair: tuple[str, str]) -> None:
        super().__init__()
        self.pair = pair

    def __call__(self, texts):
        vectors = super().__call__(texts)
        for i, text in enumerate(texts):
            if text == self.pair[1]:
                vectors[i] = self._embedder.embed([self.pair[0]])[0] * 0.999 + 0.001
                vectors[i] /= np.linalg.norm(vectors[i])
        return vectors


def test_a_near_duplicate_is_removed_and_its_group_stays_with_the_kept_ones(build):
    from flywheel.export.formats import dedup_text

    a, b = ITEMS[8], ITEMS[16]
    embed = NearEmbed((dedup_text(a), dedup_text(b)))
    outcome, _ = build(ITEMS, embed=embed)
    assert outcome.manifest["dedup"]["near_removed"] == 1
    assert outcome.manifest["dedup"]["removed"] == [
        {"item": b.item_key, "kept": a.item_key, "reason": "near"}
    ]
    assert outcome.assignments[b.group_key] is outcome.assignments[a.group_key]


def test_a_second_release_diffs_against_its_predecessor_and_dedups_incrementally(build):
    first, _ = build(ITEMS)
    predecessor = Predecessor(
        "acme-v1", CREATED, dict(first.items), {"model_id": FakeEmbed().model_id, "threshold": 0.95}
    )
    later = [replace(i, decided_at=CREATED.replace(hour=3)) for i in make_items(30, start=120)]
    dropped = ITEMS[0].item_key
    outcome, root = build(
        [*ITEMS[1:], *later], number=2, predecessor=predecessor, existing_splits=first.assignments
    )
    diff = outcome.manifest["diff"]
    assert (diff["predecessor"], diff["added"], diff["removed"], diff["moved"]) == (
        "acme-v1",
        len(later),
        1,
        0,
    )
    assert diff["removed_keys"] == [dropped]
    rows = [json.loads(line) for line in (root / "diff.jsonl").read_text().splitlines()]
    assert len(rows) == len(later) + 1 and {r["change"] for r in rows} == {"added", "removed"}
    assert outcome.manifest["dedup"]["mode"] == "incremental"
    before = dict(first.items)
    for key, split in outcome.items:
        if key in before:
            assert split is before[key]


def test_a_query_selects_by_cluster_sample_type_sop_version_and_time(build):
    query = ReleaseQuery(clusters=("C1", "none"), sample_types=("golden", "generic"))
    outcome, _ = build(ITEMS, query=query, policy=ExportPolicy(min_samples=1))
    chosen = {
        i.item_key
        for i in ITEMS
        if (i.cluster or "none") in ("C1", "none") and i.sample_type in ("golden", "generic")
    }
    assert {k for k, _ in outcome.items} == chosen
    assert outcome.manifest["selection"] == {
        "candidates": len(ITEMS),
        "matched": len(chosen),
        "kept": len(chosen),
    }
    window = ReleaseQuery(since=ITEMS[10].decided_at, until=ITEMS[60].decided_at, sop_versions=(1,))
    timed, _ = build(ITEMS, query=window, policy=ExportPolicy(min_samples=1, test_share=0.3))
    assert all(window.since <= i.decided_at < window.until for i in ITEMS if i.item_key in dict(timed.items))


@pytest.mark.parametrize("bad", ["C12x", "12"])
def test_a_bad_cluster_name_in_a_query_says_how_clusters_are_named(bad):
    from flywheel.errors import InvalidInput

    with pytest.raises(InvalidInput, match="Clusters are named like C12"):
        ReleaseQuery(clusters=(bad,))
