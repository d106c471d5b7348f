"""Every built-in transform on every shape of seed: the answer contract holds, the result is deterministic."""

from __future__ import annotations

import json
import re

import pytest

from annotate.augment import Chain, Drop, DropReason, Variant, check_contract, derived_rng, json_shape
from annotate.augment.entities import EntitySubstitution
from annotate.augment.noise import Noise
from annotate.augment.style import Length, Reorder, Tone
from annotate.labeling import is_refusal
from tests.annotate.augment.items import ALL, CHINESE, EXTRACT, MULTI_TURN, QA, REFUSE

TRANSFORMS = {
    "entities": EntitySubstitution(),
    "entities_all_numbers": EntitySubstitution(numbers="all"),
    "noise": Noise(max_ops=3),
    "noise_every_op": Noise(max_ops=6),
    "tone": Tone(),
    "length": Length(),
    "reorder": Reorder(),
    "chain": Chain([EntitySubstitution(), Noise()]),
}


def variants(transform, item, n=12):
    return [transform.apply(item, derived_rng("test", transform.name, item.key, i)) for i in range(n)]


@pytest.mark.parametrize("item_name", list(ALL))
@pytest.mark.parametrize("transform_name", list(TRANSFORMS))
def test_every_variant_a_transform_makes_keeps_the_seeds_answer_contract(transform_name, item_name):
    item = ALL[item_name]
    made = [v for v in variants(TRANSFORMS[transform_name], item) if isinstance(v, Variant)]
    for variant in made:
        assert check_contract(item, variant) is None
        assert [m["role"] for m in variant.prompt] == [m["role"] for m in item.prompt]
        assert variant.prompt[0] == item.prompt[0]  # the system prompt: the task's rules
        if item.output_format == "json":
            assert json_shape(json.loads(variant.answer)) == json_shape(json.loads(item.answer))
        assert is_refusal(variant.answer) == is_refusal(item.answer)


@pytest.mark.parametrize("item_name", list(ALL))
@pytest.mark.parametrize("transform_name", list(TRANSFORMS))
def test_a_transform_gives_the_same_result_for_the_same_generator_state(transform_name, item_name):
    item = ALL[item_name]
    assert variants(TRANSFORMS[transform_name], item) == variants(TRANSFORMS[transform_name], item)


@pytest.mark.parametrize("transform_name", ["entities", "noise", "tone", "length", "chain"])
def test_different_generator_states_give_different_variants(transform_name):
    made = {
        v.prompt[-1]["content"] for v in variants(TRANSFORMS[transform_name], QA) if isinstance(v, Variant)
    }
    assert len(made) >= 3


@pytest.mark.parametrize("transform_name", list(TRANSFORMS))
def test_each_transform_makes_variants_of_a_typical_request(transform_name):
    made = [v for v in variants(TRANSFORMS[transform_name], QA) if isinstance(v, Variant)]
    assert len(made) >= 6
    assert all(v.prompt[-1]["content"] != QA.prompt[-1]["content"] for v in made)


def test_style_transforms_work_on_the_last_user_turn_and_leave_earlier_turns_alone():
    for transform in (Noise(), Tone(), Length(), Reorder()):
        for variant in variants(transform, MULTI_TURN):
            if isinstance(variant, Variant):
                assert variant.prompt[:4] == MULTI_TURN.prompt[:4]
                assert variant.answer == MULTI_TURN.answer


def test_a_chain_applies_its_steps_in_order_and_names_the_variant_after_all_of_them():
    chain = Chain([EntitySubstitution(), Tone(tones=("formal",))])
    variant = chain.apply(QA, derived_rng(1))
    assert chain.name == "entity_substitution+tone"
    assert isinstance(variant, Variant)
    assert [step["transform"] for step in variant.params["steps"]] == ["entity_substitution", "tone"]
    assert "A123456" not in variant.answer and variant.prompt[-1]["content"].startswith(("Good day", "Dear"))
    assert check_contract(QA, variant) is None


def test_a_chain_stops_at_the_first_step_that_cannot_make_a_variant():
    chain = Chain([Reorder(), Noise()])
    one_sentence = QA.with_content(
        [QA.prompt[0], {"role": "user", "content": "where is A123456"}], QA.answer, ""
    )
    outcome = chain.apply(one_sentence, derived_rng(1))
    assert outcome == Drop(DropReason.NOT_APPLICABLE, "fewer than two independent sentences")


def test_a_refusal_seed_keeps_its_refusal_through_every_transform():
    for transform in TRANSFORMS.values():
        for variant in variants(transform, REFUSE):
            if isinstance(variant, Variant):
                assert is_refusal(variant.answer)


def test_chinese_requests_get_chinese_templates():
    for transform in (Tone(tones=("formal", "casual", "polite", "frustrated")), Length(modes=("longer",))):
        for variant in variants(transform, CHINESE):
            assert isinstance(variant, Variant)
            # No English word was added: the only Latin letters are the order id's.
            assert re.findall("[A-Za-z]+", variant.prompt[-1]["content"]) == ["A"]


def test_a_json_seed_keeps_exactly_its_fields_under_entity_substitution():
    for variant in variants(EntitySubstitution(numbers="all"), EXTRACT):
        assert isinstance(variant, Variant)
        document = json.loads(variant.answer)
        assert set(document) == {"order_id", "items", "ship_to"}
        assert [set(i) for i in document["items"]] == [{"sku", "qty"}, {"sku", "qty"}]
