"""augment_run: seeds in, proposed variants out, with lineage; drops counted; re-runs idempotent."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from annotate.augment import parse_recipe
from annotate.augment.recipe import TRANSFORMS
from annotate.labeling import is_refusal
from annotate.models import AugmentRun, Sample
from annotate.review.content import content_hash
from annotate.services import augment
from annotate.services.augment import augment_run, seeds_select
from annotate.services.augment_build import variant_key
from flywheel.errors import InvalidInput, NotFound
from tests.annotate.augment.conftest import ORDER_SCHEMA, reviewed_seeds
from tests.annotate.augment.helpers import Appends, Explodes

pytestmark = pytest.mark.django_db

RECIPE = """
name: basic
seed: 5
variants:
  - transform: entity_substitution
    count: 2
  - noise
  - tone
"""


def run(project, text=RECIPE, *, scrubber, embedder, **kwargs) -> AugmentRun:
    return augment_run(
        project=project, recipe=parse_recipe(text), scrubber=scrubber, embedder=embedder, **kwargs
    )


def annotators_of(project):
    return list(
        get_user_model().objects.filter(username__in=[f"{project.name}-ann1", f"{project.name}-ann2"])
    )


def variants_of(seed):
    return list(Sample.objects.filter(seed=seed).order_by("item_key"))


def test_each_seed_becomes_proposed_variants_that_carry_its_lineage(world, fake_scrubber, hashing):
    project, lead, seeds = world
    result = run(project, scrubber=fake_scrubber, embedder=hashing, user=lead)
    assert result.status == "succeeded" and result.kind == "augment" and result.round == 1
    seed = seeds["refund"]
    made = variants_of(seed)
    keys = [v.item_key for v in made]
    assert keys == sorted(
        [
            f"{seed.item_key}~entity_substitution-r1-1",
            f"{seed.item_key}~entity_substitution-r1-2",
            f"{seed.item_key}~noise-r1-1",
            f"{seed.item_key}~tone-r1-1",
        ]
    )
    for variant in made:
        assert (variant.origin, variant.status, variant.decision) == ("variant", "proposed", "")
        assert variant.group_key == seed.group_key and variant.augment_run == result
        assert variant.trace == seed.trace and variant.sop == seed.sop and variant.task is None
        assert variant.annotators == seed.annotators and variant.reviewer is None
        assert variant.values == {**seed.values, "corrected_output": variant.answer}
        assert variant.content_hash == content_hash(variant.prompt, variant.answer)
        lineage = variant.lineage
        assert lineage["augment_type"] == variant.item_key.split("~")[1].split("-r")[0]
        assert lineage["augment_round"] == 1 and lineage["recipe"] == "basic"
        assert lineage["source_id"] == seed.trace.external_id == seed.lineage["source_id"]
        assert lineage["seed_item"] == seed.item_key and lineage["augment_run"] == result.pk
        assert lineage["annotator"] == seed.lineage["annotator"] and lineage["cluster"] == "C1"
        assert lineage["reviewer"] is None and lineage["decision"] is None and lineage["origin"] == "variant"
        assert set(lineage["params"]) == {"settings", "chosen"}
    swap = next(v for v in made if v.lineage["augment_type"] == "entity_substitution")
    assert swap.lineage["params"]["chosen"] == {"swapped": {"number": 1, "product": 1}}
    assert "A654321" not in swap.answer and "A654321" not in swap.prompt[-1]["content"]


def test_the_counts_add_up_and_are_stored_on_the_run(world, fake_scrubber, hashing):
    project, _, seeds = world
    result = run(project, scrubber=fake_scrubber, embedder=hashing)
    counts = result.counts
    assert counts["seeds"] == len(seeds) and counts["attempted"] == 4 * len(seeds)
    assert counts["attempted"] == counts["proposed"] + counts["already_there"] + sum(
        counts["dropped"].values()
    )
    assert counts["proposed"] == Sample.objects.filter(augment_run=result).count() > 0
    # The Chinese seed has no product and an id the entity swap finds; nothing else to swap there.
    assert set(counts["dropped"]) <= {"not_applicable", "no_change", "exact_duplicate", "near_duplicate"}
    assert AugmentRun.objects.get(pk=result.pk).counts == counts


def test_the_same_recipe_on_the_same_round_adds_nothing_the_second_time(world, fake_scrubber, hashing):
    project, _, _ = world
    first = run(project, scrubber=fake_scrubber, embedder=hashing)
    before = set(Sample.objects.values_list("item_key", "content_hash"))
    second = run(project, scrubber=fake_scrubber, embedder=hashing)
    assert set(Sample.objects.values_list("item_key", "content_hash")) == before
    assert second.counts["proposed"] == 0
    assert second.counts["already_there"] == first.counts["proposed"]
    assert second.counts["dropped"] == first.counts["dropped"]  # deterministic: the same drops again


def test_a_new_round_makes_new_variants_and_a_discarded_variant_is_not_made_again(
    world, fake_scrubber, hashing
):
    project, _, _ = world
    first = run(project, scrubber=fake_scrubber, embedder=hashing)
    one = Sample.objects.filter(augment_run=first).first()
    Sample.objects.filter(pk=one.pk).update(status=Sample.Status.DISCARDED)
    again = run(project, scrubber=fake_scrubber, embedder=hashing)
    assert again.counts["proposed"] == 0  # the discarded one counts as already there
    second = run(project, scrubber=fake_scrubber, embedder=hashing, round=2)
    keys = Sample.objects.filter(augment_run=second).values_list("item_key", flat=True)
    assert keys and all("-r2-" in key for key in keys)
    assert all(s.lineage["augment_round"] == 2 for s in Sample.objects.filter(augment_run=second))


def test_the_same_recipe_gives_the_same_variants_in_another_project_copy(world, fake_scrubber, hashing):
    project, _, _ = world
    first = run(project, scrubber=fake_scrubber, embedder=hashing)
    contents = {s.item_key: (s.prompt, s.answer) for s in Sample.objects.filter(augment_run=first)}
    Sample.objects.filter(augment_run=first).delete()
    second = run(project, scrubber=fake_scrubber, embedder=hashing)
    assert {s.item_key: (s.prompt, s.answer) for s in Sample.objects.filter(augment_run=second)} == contents


def test_a_must_refuse_seed_keeps_must_refuse_and_a_refusal_in_every_variant(world, fake_scrubber, hashing):
    project, _, seeds = world
    run(project, scrubber=fake_scrubber, embedder=hashing)
    made = variants_of(seeds["refuse"])
    assert made
    for variant in made:
        assert variant.values["must_refuse"] is True and variant.lineage["must_refuse"] is True
        assert variant.lineage["sample_type"] == "boundary" and is_refusal(variant.answer)


def test_json_variants_keep_the_sops_schema(extraction, fake_scrubber, hashing):
    project, _, seeds = extraction
    text = "name: j\nvariants:\n  - {transform: entity_substitution, count: 3, params: {numbers: all}}\n"
    text += "  - reorder\n"
    result = run(project, text, scrubber=fake_scrubber, embedder=hashing)
    from jsonschema import validate

    made = variants_of(seeds["extract"])
    assert len(made) == result.counts["proposed"] >= 3
    for variant in made:
        document = json.loads(variant.answer)
        validate(document, ORDER_SCHEMA)
        assert set(document) == {"order_id", "items", "ship_to"} and variant.output_format == "json"


def test_a_variant_that_breaks_the_answer_contract_is_dropped_and_counted(
    extraction, fake_scrubber, hashing, monkeypatch
):
    project, _, seeds = extraction
    monkeypatch.setitem(TRANSFORMS, "appends", Appends.factory(" Thanks.", answer_text=" // done"))
    result = run(project, "name: bad\nvariants: [appends]", scrubber=fake_scrubber, embedder=hashing)
    assert result.counts["dropped"] == {"contract_json": 1} and result.counts["proposed"] == 0
    assert not variants_of(seeds["extract"])


def test_pii_a_variant_brings_in_is_scrubbed_before_it_is_stored(world, fake_scrubber, hashing, monkeypatch):
    project, _, seeds = world
    monkeypatch.setitem(
        TRANSFORMS, "appends", Appends.factory(" Ask Ada Lovelace, ada@example.org, +1 415 555 0100.")
    )
    result = run(project, "name: pii\nvariants: [appends]", scrubber=fake_scrubber, embedder=hashing)
    assert result.counts["pii_scrubbed"] == len(seeds) == result.counts["proposed"]
    for variant in Sample.objects.filter(augment_run=result):
        stored = json.dumps([variant.prompt, variant.answer, variant.values, variant.lineage])
        assert "Ada Lovelace" not in stored and "ada@example.org" not in stored and "555 0100" not in stored
        request = variant.prompt[-1]["content"]
        assert "<EMAIL_ADDRESS_1>" in request and "<PHONE_NUMBER_1>" in request
    # The seed's own placeholders keep their numbers: a new person is the next one.
    refuse = Sample.objects.get(seed=seeds["refuse"], augment_run=result)
    assert "<PERSON_1>?" in refuse.prompt[-1]["content"] and "Ask <PERSON_2>," in refuse.prompt[-1]["content"]


def test_a_variant_that_duplicates_a_sample_of_another_group_is_dropped(world, fake_scrubber, hashing):
    project, _, seeds = world
    twin = reviewed_seeds(project, annotators_of(project), ["status"])["status"]
    assert twin.group_key != seeds["status"].group_key
    text = "name: ws\nvariants:\n  - {transform: noise, params: {ops: [whitespace, casing], max_ops: 1}}\n"
    result = run(project, text, scrubber=fake_scrubber, embedder=hashing)
    # Each twin's variant normalises to the other twin's text; other seeds' variants are kept although
    # they normalise to their own seed's text (the same group).
    assert result.counts["dropped"].get("exact_duplicate") == 2
    assert not variants_of(twin) and not variants_of(seeds["status"])
    assert variants_of(seeds["refund"]) and variants_of(seeds["refuse"])


def test_near_duplicates_of_other_groups_are_dropped_by_the_projects_threshold(world, fake_scrubber, hashing):
    project, _, _ = world
    reviewed_seeds(project, annotators_of(project), ["status_monday"])
    text = "name: near\nvariants:\n  - {transform: entity_substitution, count: 3}\n"
    text += "  - {transform: noise, count: 3}\n"
    project.near_duplicate_threshold = 0.999
    project.save()
    loose = run(project, text, scrubber=fake_scrubber, embedder=hashing)
    assert "near_duplicate" not in loose.counts["dropped"]
    Sample.objects.filter(augment_run=loose).delete()
    project.near_duplicate_threshold = 0.8
    project.save()
    strict = run(project, text, scrubber=fake_scrubber, embedder=hashing)
    assert strict.counts["dropped"]["near_duplicate"] > 0
    kept = list(Sample.objects.exclude(status="discarded"))
    vectors = hashing.embed([s.prompt[-1]["content"] + "\n" + s.answer for s in kept])
    for i, a in enumerate(kept):
        if a.augment_run_id != strict.pk:
            continue
        for j, b in enumerate(kept):
            if b.group_key != a.group_key:
                assert float(vectors[i] @ vectors[j]) < 0.8


def test_discarded_samples_do_not_count_as_duplicates(world, fake_scrubber, hashing):
    project, _, seeds = world
    text = "name: ws\nvariants:\n  - {transform: noise, params: {ops: [whitespace], max_ops: 1}}\n"
    first = run(project, text, scrubber=fake_scrubber, embedder=hashing)
    Sample.objects.filter(augment_run=first).update(status=Sample.Status.DISCARDED)
    Sample.objects.filter(pk=seeds["status"].pk).update(status=Sample.Status.DISCARDED)
    again = run(project, text, scrubber=fake_scrubber, embedder=hashing, round=2)
    assert "exact_duplicate" not in again.counts["dropped"]


def test_the_selection_picks_seeds_by_cluster_task_type_sample_type_origin_and_limit(world):
    project, _, seeds = world

    def picked(select):
        recipe = parse_recipe(f"name: s\nselect: {select}\nvariants: [noise]")
        return {s.pk for s in seeds_select(project=project, selection=recipe.select)}

    every = {s.pk for s in seeds.values()}
    assert (
        picked("{}") == every and picked("{clusters: [C1]}") == every and picked("{clusters: [2]}") == set()
    )
    assert picked("{task_types: [extraction]}") == {seeds["extract"].pk}
    assert picked("{sample_types: [boundary]}") == {seeds["refuse"].pk}
    assert picked("{origins: [variant]}") == set()


def test_limit_takes_the_oldest_seeds(world, fake_scrubber, hashing):
    project, _, seeds = world
    result = run(
        project, "name: l\nselect: {limit: 2}\nvariants: [tone]", scrubber=fake_scrubber, embedder=hashing
    )
    assert result.counts["seeds"] == 2 and result.params["seeds"] == 2
    assert {s.seed_id for s in Sample.objects.filter(augment_run=result)} <= {
        seeds["status"].pk,
        seeds["refund"].pk,
    }


def test_a_recipe_that_selects_nothing_or_too_much_is_refused_before_a_run_exists(
    world, fake_scrubber, hashing
):
    project, _, _ = world
    with pytest.raises(NotFound, match="The recipe selects no final sample of project 'shop'"):
        run(
            project,
            "name: n\nselect: {task_types: [sql]}\nvariants: [tone]",
            scrubber=fake_scrubber,
            embedder=hashing,
        )
    with pytest.raises(
        InvalidInput, match="This recipe selects 5 seeds; here at most 3 run at once"
    ) as caught:
        run(project, scrubber=fake_scrubber, embedder=hashing, max_seeds=3)
    assert "python manage.py augment --project shop" in caught.value.hint
    with pytest.raises(InvalidInput, match="round must be a whole number"):
        run(project, scrubber=fake_scrubber, embedder=hashing, round=0)
    assert not AugmentRun.objects.exists()


def test_a_reviewed_set_without_cached_vectors_is_refused_when_the_caller_bounds_it(
    world, fake_scrubber, hashing
):
    project, _, _ = world
    with pytest.raises(InvalidInput, match="needs vectors for 5 samples that have none cached yet"):
        run(project, scrubber=fake_scrubber, embedder=hashing, max_new_embeddings=2)
    assert not AugmentRun.objects.exists()
    run(project, scrubber=fake_scrubber, embedder=hashing)  # fills the cache
    assert run(project, scrubber=fake_scrubber, embedder=hashing, max_new_embeddings=0).status == "succeeded"


def test_a_crash_marks_the_run_failed_with_the_error_type_and_keeps_earlier_batches(
    world, fake_scrubber, hashing, monkeypatch
):
    project, _, seeds = world
    monkeypatch.setattr(augment, "SEED_BATCH", 2)
    last = max(seeds.values(), key=lambda s: s.pk)
    monkeypatch.setitem(TRANSFORMS, "explodes", lambda params, chat: Explodes({last.item_key}))
    with pytest.raises(RuntimeError):
        run(project, "name: boom\nvariants: [explodes]", scrubber=fake_scrubber, embedder=hashing)
    failed = AugmentRun.objects.get()
    assert failed.status == "failed" and failed.error == "RuntimeError" and failed.finished_at
    assert failed.counts["proposed"] == 4 == Sample.objects.filter(augment_run=failed).count()


def test_variant_keys_fit_the_column_and_stay_unique():
    assert variant_key("src:t1", "noise", 2, 3) == "src:t1~noise-r2-3"
    long = variant_key("s:" + "x" * 300, "entity_substitution+noise", 1, 1)
    assert len(long) == 200 and long.endswith("~entity_substitution+noise-r1-1")
    assert long != variant_key("s:" + "x" * 299 + "y", "entity_substitution+noise", 1, 1)


def test_paraphrase_failures_drop_single_variants_and_a_re_run_does_not_call_the_endpoint_again(
    world, fake_scrubber, hashing
):
    from annotate.augment import ChatClient, ChatConfig
    from annotate.augment.standin import ChatStandin

    project, _, seeds = world
    text = "name: para\nvariants:\n  - {transform: paraphrase, count: 2}\n"
    with ChatStandin() as chat:
        # 1.5 s: a loaded machine may take a few hundred ms to answer; the fault waits longer.
        client = ChatClient(ChatConfig(base_url=chat.base_url, model="m", timeout=1.5), sleep=lambda s: None)
        chat.faults.push("timeout", seconds=3)
        chat.faults.push("missing_choices")
        chat.faults.push("server_error", count=3)
        first = run(project, text, scrubber=fake_scrubber, embedder=hashing, chat=client)
        calls = chat.count
        second = run(project, text, scrubber=fake_scrubber, embedder=hashing, chat=client)
        # Only what was not stored the first time is tried again (the three faults, and any drop
        # after the endpoint answered, e.g. two copies paraphrased alike: an exact duplicate).
        assert chat.count - calls == 2 * len(seeds) - first.counts["proposed"]
    assert first.status == "succeeded"
    dropped = first.counts["dropped"]
    assert dropped["paraphrase_timeout"] == 1 and dropped["paraphrase_malformed"] == 1
    assert dropped["paraphrase_unavailable"] == 1
    assert first.counts["proposed"] + sum(dropped.values()) == 2 * len(seeds)
    assert second.counts["already_there"] == first.counts["proposed"]
    variant = Sample.objects.filter(augment_run=first).first()
    assert (
        variant.lineage["params"]["settings"]["model"] == "m"
        and "seed" in variant.lineage["params"]["chosen"]
    )
