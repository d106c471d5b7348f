"""Entity substitution: consistent swaps in the input and the answer, never in the rules."""

from __future__ import annotations

import json

from annotate.augment import Drop, DropReason, SeedItem, Variant, derived_rng, synthetic
from annotate.augment.entities import EntitySubstitution
from tests.annotate.augment.items import EXTRACT, QA, REFUSE


def one(transform, item, seed=0):
    outcome = transform.apply(item, derived_rng(seed))
    assert isinstance(outcome, Variant), outcome
    return outcome


def test_an_order_number_is_swapped_for_one_of_the_same_shape_in_the_input_and_the_answer():
    variant = one(EntitySubstitution(kinds=("number",)), QA)
    new = variant.renamed["A123456"]
    assert new != "A123456" and len(new) == 7 and new[0] == "A" and new[1:].isdigit()
    assert new in variant.prompt[-1]["content"] and new in variant.answer and new in variant.rejected_answer
    assert "A123456" not in variant.prompt[-1]["content"] + variant.answer + variant.rejected_answer


def test_plain_numbers_stay_unless_the_recipe_asks_for_them():
    ids_only = one(EntitySubstitution(kinds=("number",)), EXTRACT)
    assert '"qty": 2' in ids_only.answer and "2 x" in ids_only.prompt[-1]["content"]
    every = one(EntitySubstitution(kinds=("number",), numbers="all"), EXTRACT, seed=3)
    quantities = [i["qty"] for i in json.loads(every.answer)["items"]]
    assert quantities != [2, 1]
    for qty in quantities:
        assert f"{qty} x SKU-" in every.prompt[-1]["content"]


def test_numbers_in_the_system_prompt_are_rules_and_stay_everywhere():
    item = SeedItem(
        key="k",
        prompt=(
            {"role": "system", "content": "Refunds within 30 days."},
            {"role": "user", "content": "I bought it 30 days ago and 3 of them broke. Refund?"},
        ),
        answer="Purchases within 30 days can be refunded; all 3 will be.",
    )
    variant = one(EntitySubstitution(kinds=("number",), numbers="all"), item)
    assert "30 days" in variant.prompt[-1]["content"] and "30 days" in variant.answer
    assert variant.renamed.keys() == {"3"}
    assert variant.prompt[0] == item.prompt[0]


def test_dates_times_and_years_are_left_alone():
    item = SeedItem(
        key="k",
        prompt=(
            {"role": "user", "content": "Order A123456 from 2026-11-01 at 10:30, the 2025 model, 4 units."},
        ),
        answer="Order A123456 ships 4 units.",
    )
    variant = one(EntitySubstitution(kinds=("number",), numbers="all"), item)
    text = variant.prompt[-1]["content"]
    assert "2026-11-01" in text and "10:30" in text and "2025 model" in text
    assert set(variant.renamed) == {"A123456", "4"}


def test_placeholders_become_obviously_synthetic_names_and_places_consistently():
    variant = one(EntitySubstitution(kinds=("name", "place")), EXTRACT)
    text = variant.prompt[-1]["content"]
    assert variant.renamed["<PERSON_1>"] in synthetic.NAMES
    assert variant.renamed["<ADDRESS_1>"] in synthetic.STREETS
    assert variant.renamed["<LOCATION_1>"] in synthetic.PLACES
    ship_to = json.loads(variant.answer)["ship_to"]
    assert ship_to == f"{variant.renamed['<ADDRESS_1>']}, {variant.renamed['<LOCATION_1>']}"
    assert "<" not in text


def test_a_product_is_swapped_for_another_product_in_the_same_number_and_case():
    variant = one(EntitySubstitution(kinds=("product",)), QA)
    new = variant.renamed["blender"]
    assert new in {s for s, _ in synthetic.PRODUCTS} and new != "blender"
    assert f"The {new} was due" in variant.prompt[-1]["content"]
    plural = SeedItem(
        key="p", prompt=({"role": "user", "content": "The Shoes are too small."},), answer="Sorry!"
    )
    swapped = one(EntitySubstitution(kinds=("product",)), plural).renamed["Shoes"]
    assert swapped[0].isupper() and swapped.lower() in {p for _, p in synthetic.PRODUCTS}


def test_the_recipe_can_bring_its_own_kinds_and_values():
    item = SeedItem(
        key="k",
        prompt=({"role": "user", "content": "Is the red mug in stock?"},),
        answer="The red mug is in stock.",
    )
    variant = one(EntitySubstitution(kinds=("color",), values={"color": ["red", "blue", "green"]}), item)
    assert variant.renamed["red"] in {"blue", "green"}
    assert variant.answer == f"The {variant.renamed['red']} mug is in stock."


def test_identifiers_in_chinese_text_are_found_between_characters():
    item = SeedItem(
        key="k",
        prompt=({"role": "user", "content": "我的订单A777888什么时候到?"},),
        answer="订单A777888明天到。",
    )
    variant = one(EntitySubstitution(kinds=("number",)), item)
    new = variant.renamed["A777888"]
    assert (
        variant.prompt[-1]["content"] == f"我的订单{new}什么时候到?"
        and variant.answer == f"订单{new}明天到。"
    )


def test_a_seed_with_nothing_of_the_chosen_kinds_is_not_applicable():
    item = SeedItem(key="k", prompt=({"role": "user", "content": "hello, are you a bot?"},), answer="I am.")
    assert EntitySubstitution().apply(item, derived_rng(0)) == Drop(
        DropReason.NOT_APPLICABLE, "no entity of the chosen kinds in the input"
    )


def test_what_is_swapped_is_counted_per_kind_without_quoting_values():
    variant = one(EntitySubstitution(), REFUSE)
    assert variant.params == {"swapped": {"name": 1, "product": 1}}
