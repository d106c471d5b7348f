"""The variant path with the real collaborators: Presidio + spaCy for PII, all-MiniLM-L6-v2 for dedup."""

from __future__ import annotations

import json

import pytest

from annotate.augment import parse_recipe, synthetic
from annotate.augment.recipe import TRANSFORMS
from annotate.models import Sample
from annotate.services.augment import augment_run
from annotate.services.augment_build import variant_scrubber
from tests.annotate.augment.conftest import reviewed_seeds
from tests.annotate.augment.helpers import Appends
from tests.annotate.augment.test_service import annotators_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_presidio_scrubs_a_real_name_a_variant_brings_in_and_keeps_the_synthetic_ones(
    world, minilm, monkeypatch
):
    project, _, seeds = world
    monkeypatch.setitem(
        TRANSFORMS, "appends", Appends.factory(" My neighbour Katherine Johnson from Chicago says hi.")
    )
    recipe = parse_recipe(
        "name: pii\nvariants:\n"
        "  - chain: [{transform: entity_substitution, params: {kinds: [name]}}, appends]\n"
    )
    run = augment_run(project=project, recipe=recipe, scrubber=variant_scrubber(project), embedder=minilm)
    variant = Sample.objects.get(augment_run=run, seed=seeds["refuse"])
    stored = json.dumps([variant.prompt, variant.answer, variant.values])
    assert "Katherine Johnson" not in stored and "Chicago" not in stored
    request = variant.prompt[-1]["content"]
    assert any(name in request for name in synthetic.NAMES), request  # allowed: obviously made up
    assert "<PERSON_" in request and "<LOCATION_" in request
    assert run.counts["pii_scrubbed"] >= 1


def test_minilm_drops_a_variant_close_to_another_seed_and_keeps_the_ones_close_to_their_own(world, minilm):
    project, _, seeds = world
    twin = reviewed_seeds(project, annotators_of(project), ["status_monday"])["status_monday"]
    recipe = parse_recipe(
        "name: near\nseed: 3\nvariants:\n  - {transform: noise, count: 3, params: {ops: [typos]}}\n"
    )
    run = augment_run(project=project, recipe=recipe, scrubber=variant_scrubber(project), embedder=minilm)
    # "status" and its near twin differ in two words: a typo variant of either is >= 0.95 to the other.
    assert run.counts["dropped"].get("near_duplicate", 0) >= 1
    for name in ("refund", "refuse"):  # (typos do not apply to the Chinese seed)
        assert Sample.objects.filter(augment_run=run, seed=seeds[name]).exists()
    kept = Sample.objects.filter(augment_run=run, seed__in=[seeds["status"], twin])
    vectors = minilm.embed([s.prompt[-1]["content"] + "\n" + s.answer for s in kept])
    other = minilm.embed(
        [
            seeds["status"].prompt[-1]["content"] + "\n" + seeds["status"].answer,
            twin.prompt[-1]["content"] + "\n" + twin.answer,
        ]
    )
    for sample, vector in zip(kept, vectors, strict=True):
        rival = other[1] if sample.seed_id == seeds["status"].pk else other[0]
        assert float(vector @ rival) < project.near_duplicate_threshold
