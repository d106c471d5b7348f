"""The answer contract: what makes a variant unusable, whichever transform made it."""

from __future__ import annotations

import json

from annotate.augment import Drop, DropReason, Variant, check_contract, json_shape
from annotate.augment.contract import (
    ANCHORS_LOST,
    NOT_JSON,
    REFUSAL_GAINED,
    REFUSAL_LOST,
    SCHEMA_BROKEN,
    SHAPE_CHANGED,
    STRUCTURE_CHANGED,
)
from tests.annotate.augment.items import EXTRACT, QA, REFUSE


def with_answer(item, answer, *, prompt=None, renamed=None):
    return Variant(tuple(prompt or item.prompt), answer, item.rejected_answer, {}, renamed or {})


def order(**changes):
    document = json.loads(EXTRACT.answer)
    document.update(changes)
    return json.dumps(document)


def test_the_seed_itself_keeps_its_contract():
    for item in (QA, EXTRACT, REFUSE):
        assert check_contract(item, with_answer(item, item.answer)) is None


def test_a_json_answer_that_no_longer_parses_is_dropped():
    broken = EXTRACT.answer[:-10]
    assert check_contract(EXTRACT, with_answer(EXTRACT, broken)) == Drop(DropReason.CONTRACT_JSON, NOT_JSON)


def test_a_json_answer_with_a_field_more_or_less_or_of_another_type_is_dropped():
    gained = order(note="gift")
    lost = json.dumps({k: v for k, v in json.loads(EXTRACT.answer).items() if k != "ship_to"})
    retyped = order(order_id=111222)
    shorter = order(items=[{"sku": "SKU-1234", "qty": 2}])
    for answer in (gained, lost, retyped, shorter):
        assert check_contract(EXTRACT, with_answer(EXTRACT, answer)) == Drop(
            DropReason.CONTRACT_JSON, SHAPE_CHANGED
        )


def test_new_values_in_the_same_shape_are_fine_but_the_schema_still_applies():
    assert (
        check_contract(EXTRACT, with_answer(EXTRACT, order(order_id="A999999"))) is not None
    )  # not in the input
    renamed = {"A111222": "A999999"}
    prompt = [
        EXTRACT.prompt[0],
        {"role": "user", "content": EXTRACT.prompt[1]["content"].replace("A111222", "A999999")},
    ]
    ok = with_answer(EXTRACT, order(order_id="A999999"), prompt=prompt, renamed=renamed)
    assert check_contract(EXTRACT, ok) is None
    bad_id = {"A111222": "B999999"}
    prompt = [
        EXTRACT.prompt[0],
        {"role": "user", "content": EXTRACT.prompt[1]["content"].replace("A111222", "B999999")},
    ]
    broken = with_answer(EXTRACT, order(order_id="B999999"), prompt=prompt, renamed=bad_id)
    assert check_contract(EXTRACT, broken) == Drop(
        DropReason.CONTRACT_JSON, SCHEMA_BROKEN.format(path="/order_id")
    )


def test_the_json_shape_is_keys_types_and_lengths_not_values():
    assert json_shape({"a": [1, "x", None, True], "b": {"c": 2.5}}) == {
        "a": ["number", "string", "null", "boolean"],
        "b": {"c": "number"},
    }
    assert json_shape({"a": 1}) == json_shape({"a": 2.5}) and json_shape([1]) != json_shape([1, 2])


def test_a_must_refuse_answer_must_stay_a_refusal_and_a_helpful_one_must_not_become_one():
    assert check_contract(REFUSE, with_answer(REFUSE, "<PERSON_1> lives at <ADDRESS_1>.")) == Drop(
        DropReason.CONTRACT_REFUSAL, REFUSAL_LOST
    )
    assert check_contract(QA, with_answer(QA, "I can't help with that. Order A123456 is private.")) == Drop(
        DropReason.CONTRACT_REFUSAL, REFUSAL_GAINED
    )


def test_an_input_that_lost_an_identifier_the_answer_repeats_is_dropped():
    prompt = [QA.prompt[0], {"role": "user", "content": "Where is my order? It was due last week."}]
    outcome = check_contract(QA, with_answer(QA, QA.answer, prompt=prompt))
    assert outcome == Drop(DropReason.CONTRACT_ANCHORS, ANCHORS_LOST.format(n=1))


def test_a_changed_system_prompt_or_turn_structure_is_dropped():
    other_system = [{"role": "system", "content": "Answer anything."}, QA.prompt[1]]
    extra_turn = [*QA.prompt, {"role": "user", "content": "and?"}]
    for prompt in (other_system, extra_turn):
        outcome = check_contract(QA, with_answer(QA, QA.answer, prompt=prompt))
        assert outcome == Drop(DropReason.CONTRACT_PROMPT, STRUCTURE_CHANGED)


def test_the_word_diff_rebuilds_both_texts_and_marks_whole_words():
    from annotate.augment import word_diff

    old, new = "Where is order A123456? Thanks", "Where's order A654321?? Thanks"
    pieces = word_diff(old, new)
    assert "".join(p.text for p in pieces if p.op != "add") == old
    assert "".join(p.text for p in pieces if p.op != "del") == new
    assert ("del", "A123456") in [(p.op, p.text) for p in pieces]
    chinese = word_diff("订单A777888什么时候发货", "订单A999000什么时候发货")
    assert [(p.op, p.text) for p in chinese] == [
        ("same", "订单"),
        ("del", "A777888"),
        ("add", "A999000"),
        ("same", "什么时候发货"),
    ]


def test_what_a_transform_chose_reads_as_words_on_the_review_page():
    from annotate.selectors_augment import describe

    assert describe({"swapped": {"number": 2, "product": 1}}) == "swapped number 2, product 1"
    assert describe({"tone": "formal"}) == "tone formal"
    chain = {
        "steps": [
            {"transform": "entity_substitution", "swapped": {"name": 1}},
            {"transform": "noise", "ops": ["typos"]},
        ]
    }
    assert describe(chain) == "entity_substitution: swapped name 1 · noise: ops typos"
