"""generate_run: a plug-in's pairs become proposed samples with lineage, through the PII and dedup path."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import validate

from annotate.augment import Pair
from annotate.models import AugmentRun, Sample
from annotate.review.content import content_hash
from annotate.services.augment import generate_run
from fixtures.generators.order_extraction import SCHEMA, SYSTEM_PROMPT, OrderExtraction
from flywheel.errors import ConfigError, InvalidInput

pytestmark = pytest.mark.django_db
PATH = "fixtures.generators.order_extraction:OrderExtraction"


class EveryThirdBroken(OrderExtraction):
    """The demo generator with a bug in a third of its answers: the validator must catch them."""

    name = "order_extraction_buggy"

    def generate(self, params, rng):
        for n, pair in enumerate(super().generate(params, rng)):
            yield (
                Pair(pair.input, pair.expected_output.replace('"items"', '"lines"'), pair.case)
                if n % 3 == 0
                else pair
            )


class LeaksAnEmail(OrderExtraction):
    name = "order_extraction_email"

    def generate(self, params, rng):
        for pair in super().generate(params, rng):
            yield Pair(pair.input + " Contact: ada@example.org", pair.expected_output, pair.case)


class Crashes(OrderExtraction):
    name = "crashes"

    def validate(self, pair):
        raise KeyError("A123456 is in this message")


def gen(project, generator=PATH, count=60, **kwargs) -> AugmentRun:
    return generate_run(project=project, generator=generator, count=count, **kwargs)


def test_generated_rows_are_proposed_samples_with_their_generator_in_lineage(
    extraction, fake_scrubber, hashing
):
    project, lead, _ = extraction
    run = gen(project, scrubber=fake_scrubber, embedder=hashing, user=lead, seed=3)
    assert (run.kind, run.name, run.version, run.status) == ("generate", PATH, "1", "succeeded")
    assert run.params == {"generator": "order_extraction", "params": {}, "seed": 3, "count": 60}
    rows = list(Sample.objects.filter(augment_run=run))
    assert len(rows) == run.counts["proposed"] > 20
    for row in rows:
        assert (row.origin, row.status, row.output_format) == ("programmatic", "proposed", "json")
        assert (
            re.fullmatch(r"gen:order_extraction:[0-9a-f]{16}", row.item_key) and row.group_key == row.item_key
        )
        assert (
            row.prompt[0] == {"role": "system", "content": SYSTEM_PROMPT} and row.prompt[1]["role"] == "user"
        )
        validate(json.loads(row.answer), SCHEMA)
        assert row.values["corrected_output"] == row.answer and row.values["sample_type"] == "golden"
        assert row.values["task_type"] == "extraction" and row.values["must_refuse"] is False
        assert row.sop.version == 2 and row.seed is None and row.trace is None
        assert row.content_hash == content_hash(row.prompt, row.answer)
        lineage = row.lineage
        assert lineage["augment_type"] == "programmatic" and lineage["generator"] == "order_extraction"
        assert lineage["generator_version"] == "1" and lineage["task_type"] == "extraction"
        assert lineage["sample_type"] == "golden" and lineage["output_format"] == "json"
        assert lineage["json_schema"] == SCHEMA and lineage["case"]
        assert lineage["source"] == "generator" and lineage["source_id"] == row.item_key
        assert lineage["augment_round"] == 1 and lineage["reviewer"] is None
    counts = run.counts
    assert counts["attempted"] == 60
    assert counts["attempted"] == counts["proposed"] + counts["already_there"] + sum(
        counts["dropped"].values()
    )


def test_the_same_generator_seed_and_count_adds_nothing_the_second_time(extraction, fake_scrubber, hashing):
    project, _, _ = extraction
    first = gen(project, scrubber=fake_scrubber, embedder=hashing)
    second = gen(project, scrubber=fake_scrubber, embedder=hashing)
    assert second.counts["proposed"] == 0 and second.counts["already_there"] == first.counts["proposed"]
    third = gen(project, scrubber=fake_scrubber, embedder=hashing, seed=9)
    assert third.counts["proposed"] > 0


def test_pairs_the_validator_refuses_are_dropped_as_invalid(extraction, fake_scrubber, hashing):
    project, _, _ = extraction
    run = gen(project, EveryThirdBroken(), count=30, scrubber=fake_scrubber, embedder=hashing)
    assert run.counts["dropped"]["invalid"] == 10
    assert all('"lines"' not in s.answer for s in Sample.objects.filter(augment_run=run))


def test_pii_in_a_generated_input_is_scrubbed_and_the_pair_validated_again(
    extraction, fake_scrubber, hashing
):
    project, _, _ = extraction
    run = gen(project, LeaksAnEmail(), count=20, scrubber=fake_scrubber, embedder=hashing)
    assert run.counts["pii_scrubbed"] == 20 - run.counts["dropped"].get("exact_duplicate", 0)
    for row in Sample.objects.filter(augment_run=run):
        assert (
            "ada@example.org" not in json.dumps(row.prompt)
            and "<EMAIL_ADDRESS_1>" in row.prompt[1]["content"]
        )


def test_a_count_of_near_identical_template_rows_is_cut_by_near_duplicate_dedup(
    extraction, fake_scrubber, hashing
):
    project, _, _ = extraction
    project.near_duplicate_threshold = 0.9
    project.save()
    run = gen(project, count=100, params={"cases": ["no_items"]}, scrubber=fake_scrubber, embedder=hashing)
    assert run.counts["dropped"]["near_duplicate"] > 0


def test_bad_params_a_bad_schema_and_a_bad_count_are_refused_before_a_run_exists(
    extraction, fake_scrubber, hashing
):
    project, _, _ = extraction
    with pytest.raises(InvalidInput, match="The generator 'order_extraction' refuses its params: max_items"):
        gen(project, params={"max_items": 99}, scrubber=fake_scrubber, embedder=hashing)
    with pytest.raises(InvalidInput, match="count must be a whole number"):
        gen(project, count=0, scrubber=fake_scrubber, embedder=hashing)
    broken = OrderExtraction()
    broken.json_schema = {"type": "objekt"}
    with pytest.raises(ConfigError, match="declares a JSON Schema that is not a valid JSON Schema"):
        gen(project, broken, scrubber=fake_scrubber, embedder=hashing)
    assert not AugmentRun.objects.exists()


def test_a_generator_that_crashes_fails_the_run_with_a_config_error_that_quotes_nothing(
    extraction, fake_scrubber, hashing
):
    project, _, _ = extraction
    with pytest.raises(ConfigError) as caught:
        gen(project, Crashes(), scrubber=fake_scrubber, embedder=hashing)
    assert caught.value.message == "The generator 'crashes' raised KeyError while validating."
    run = AugmentRun.objects.get()
    assert run.status == "failed" and "A123456" not in run.error and run.error == caught.value.message
