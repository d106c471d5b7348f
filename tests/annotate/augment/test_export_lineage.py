"""Through the export: accepted variants and generated rows reach a release with their lineage, and a
seed and its variants land on the same side of every split (``release_publish`` as the nightly calls it).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from annotate.augment import parse_recipe
from annotate.models import LabelingPolicy, Role, Sample
from annotate.services.augment import augment_run, generate_run, proposed_accept, proposed_bulk_accept
from annotate.services.sops import sop_bootstrap
from fixtures.generators.order_extraction import SCHEMA
from flywheel.cluster.embedding import HashingEmbedder
from flywheel.models import FlywheelPolicy
from flywheel.pii import FakeScrubber
from flywheel.services.export import release_publish
from tests.annotate.augment.conftest import reviewed_seeds
from tests.factories import ProjectFactory, member
from training.release import release_load

pytestmark = pytest.mark.django_db
# Word-changing transforms only: a casing or whitespace variant is an exact duplicate of its seed
# once normalised, which the export's own dedup removes (its rule, tested there).
RECIPE = """
name: to-export
seed: 4
variants:
  - {transform: entity_substitution, count: 2}
  - {transform: tone, params: {tones: [formal, frustrated]}}
  - {transform: length, params: {mode: [longer]}}
"""
NAMES = ["status", "refund", "refuse", "chinese"]


@pytest.fixture
def released(settings, tmp_path, fake_scrubber, hashing):
    settings.DATA_DIR = tmp_path
    project = ProjectFactory(name="grown", near_duplicate_threshold=1.0)
    lead = member(project, Role.LEAD, username="grown-lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    FlywheelPolicy.objects.create(project=project, min_release_samples=10)
    annotators = [member(project, Role.ANNOTATOR, username=f"grown-ann{i}") for i in (1, 2)]
    seeds: dict[str, Sample] = {}
    for batch in range(5):  # 20 distinct seeds: enough families for val and test to get some
        found = reviewed_seeds(project, annotators, NAMES, variation=batch)
        seeds.update({f"{name}{batch}": sample for name, sample in found.items()})
    run = augment_run(project=project, recipe=parse_recipe(RECIPE), scrubber=fake_scrubber, embedder=hashing)
    rows = list(Sample.objects.filter(augment_run=run))
    for row in rows[:5]:
        proposed_accept(project=project, sample_id=row.pk, reviewer=lead)
    proposed_bulk_accept(project=project, run_id=run.pk, reviewer=lead)
    generated = generate_run(
        project=project,
        generator="fixtures.generators.order_extraction:OrderExtraction",
        count=20,
        scrubber=fake_scrubber,
        embedder=hashing,
    )
    for row in Sample.objects.filter(augment_run=generated)[:5]:
        proposed_accept(project=project, sample_id=row.pk, reviewer=lead)
    proposed_bulk_accept(project=project, run_id=generated.pk, reviewer=lead)
    result = release_publish(
        project=project, user=lead, scrubber=FakeScrubber(key=b"export-test"), embedder=HashingEmbedder(256)
    )
    by_key = {s.item_key: s for s in Sample.objects.filter(project=project, status="final")}
    return result, by_key, run


def release_rows(result, method="sft"):
    loaded = release_load(Path(result.path), method=method)
    return [(split, row) for split, rows in loaded.rows.items() for row in rows]


def test_every_accepted_variant_and_generated_row_reaches_the_release_with_its_lineage(released):
    result, by_key, run = released
    rows = {row["meta"]["id"]: (split, row) for split, row in release_rows(result)}
    variants = {k: s for k, s in by_key.items() if s.origin == "variant"}
    generated = {k: s for k, s in by_key.items() if s.origin == "programmatic"}
    assert len(variants) == run.counts["proposed"] > 50 and len(generated) > 5
    assert set(variants) | set(generated) <= set(rows)
    for key, sample in variants.items():
        meta = rows[key][1]["meta"]
        assert meta["augment_type"] == sample.lineage["augment_type"] and meta["augment_round"] == 1
        assert meta["source_id"] == sample.seed.lineage["source_id"] == sample.seed.trace.external_id
        assert meta["origin"] == "variant" and meta["decision"] == sample.decision
        assert meta["reviewer"] == "grown-lead" and meta["annotator"] == sample.seed.lineage["annotator"]
        assert meta["sample_type"] == sample.seed.lineage["sample_type"]
        assert meta["must_refuse"] is bool(sample.seed.values.get("must_refuse"))
        assert rows[key][1]["messages"][-1] == {"role": "assistant", "content": sample.answer}
    for key in generated:
        meta = rows[key][1]["meta"]
        assert meta["augment_type"] == "programmatic" and meta["origin"] == "programmatic"
        assert meta["json_schema"] == SCHEMA and meta["output_format"] == "json" and meta["reference_exact"]
        assert meta["task_type"] == "extraction" and meta["source_id"] == key


def test_a_seed_and_its_variants_are_never_split_across_train_val_and_test(released):
    result, by_key, _ = released
    splits_of_family: dict[str, set[str]] = defaultdict(set)
    for method in ("sft", "dpo"):
        for split, row in release_rows(result, method):
            sample = by_key[row["meta"]["id"]]
            splits_of_family[sample.group_key].add(split)
    families = {s.group_key for s in by_key.values() if s.origin == "variant"}
    assert families and all(len(splits_of_family[f]) == 1 for f in families)
    held_out = [f for f in families if splits_of_family[f] != {"train"}]
    assert len(held_out) >= 2, "too few families held out: the split check above proved little"
    for family in held_out:
        members = [s for s in by_key.values() if s.group_key == family]
        assert any(s.origin == "variant" for s in members) and any(s.origin == "annotation" for s in members)
