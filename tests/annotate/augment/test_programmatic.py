"""The plug-in interface and the demo generator: long-tail cases, each valid; broken pairs caught."""

from __future__ import annotations

import json
import random
from collections import Counter
from itertools import islice

import pytest

from annotate.augment import Pair, as_pair, check_json, load_generator
from annotate.augment.contract import SCHEMA_BROKEN
from annotate.augment.programmatic import params_problems
from fixtures.generators.order_extraction import CASES, SCHEMA, SYSTEM_PROMPT, OrderExtraction
from flywheel.errors import ConfigError, InvalidInput

PATH = "fixtures.generators.order_extraction:OrderExtraction"


def draw(n=700, seed=1, **params):
    return [as_pair(p) for p in islice(OrderExtraction().generate(params, random.Random(seed)), n)]


def test_the_demo_generator_loads_by_dotted_path_in_both_spellings():
    for path in (PATH, "fixtures.generators.order_extraction.OrderExtraction"):
        generator = load_generator(path)
        assert (generator.name, generator.version, generator.task_type) == (
            "order_extraction",
            "1",
            "extraction",
        )
        assert generator.output_format == "json" and generator.json_schema == SCHEMA
        assert generator.system_prompt == SYSTEM_PROMPT


def test_every_long_tail_case_comes_up_and_every_pair_passes_its_validator():
    pairs = draw()
    assert set(Counter(p.case for p in pairs)) == set(CASES)
    generator = OrderExtraction()
    assert [generator.validate(p) for p in pairs] == [[] for _ in pairs]


def test_the_long_tail_cases_have_the_outputs_their_rules_say():
    by_case: dict[str, list[Pair]] = {}
    for pair in draw():
        by_case.setdefault(pair.case, []).append(pair)
    for pair in by_case["empty_value"] + by_case["missing_field"]:
        output = json.loads(pair.expected_output)
        assert output["order_id"] is None or output["ship_to"] is None
    assert all(json.loads(p.expected_output)["items"] == [] for p in by_case["no_items"])
    assert any(len(json.loads(p.expected_output)["items"]) == 30 for p in by_case["extreme_length"])
    assert any(len(p.input) > 2000 for p in by_case["extreme_length"])
    for pair in by_case["malformed_format"]:
        assert all(i["sku"].startswith("SKU-") for i in json.loads(pair.expected_output)["items"])
    corrected = [p for p in by_case["conflicting"] if "Actually, no" in p.input]
    assert corrected and all(
        json.loads(p.expected_output)["ship_to"] in p.input.split("ship it to ")[1] for p in corrected
    )
    assert any("not JSON" in p.input for p in by_case["conflicting"])


def test_the_same_params_and_seed_give_the_same_pairs():
    assert draw(50, seed=4) == draw(50, seed=4) and draw(50, seed=4) != draw(50, seed=5)


def test_params_choose_cases_and_the_catalogue():
    pairs = draw(60, cases={"missing_field": 1, "no_items": 3}, skus=["SKU-0001", "SKU-0002", "SKU-0003"])
    assert {p.case for p in pairs} == {"missing_field", "no_items"}
    skus = {i["sku"] for p in pairs for i in json.loads(p.expected_output)["items"]}
    assert skus <= {"SKU-0001", "SKU-0002", "SKU-0003"}


def test_bad_params_are_listed():
    assert params_problems(
        OrderExtraction(), {"cases": ["nope"], "skus": ["1234"], "max_items": 0, "x": 1}
    ) == [
        "x: is not a parameter (cases, skus, max_items, long_items)",
        "cases: 'nope' is not one of normal, empty_value, missing_field, malformed_format, extreme_length, "
        "conflicting, no_items",
        "skus: must be a list like [SKU-1234, SKU-0042]",
        "max_items: must be a whole number from 1 to 10",
    ]


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        (
            "Order A123456: 2 x SKU-1234",
            '{"order_id": "A123456", "items": [',
            "the expected output is not JSON",
        ),
        (
            "Order A123456: 2 x SKU-1234 to 1 Example Street.",
            '{"order_id": "A123456", "items": [{"sku": "SKU-1234", "qty": 0}], '
            '"ship_to": "1 Example Street"}',
            SCHEMA_BROKEN.format(path="/items/0/qty"),
        ),
        (
            "Order A123456: 2 x SKU-1234.",
            '{"order_id": "A123456", "items": [{"sku": "SKU-9999", "qty": 2}], "ship_to": null}',
            "the SKU SKU-9999 is not in the input",
        ),
        (
            "Order A123456: 2 x SKU-1234.",
            '{"order_id": null, "items": [{"sku": "SKU-1234", "qty": 2}], "ship_to": null}',
            "the input gives an order id but the output has none",
        ),
        (
            "Order A123456: 2 x SKU-1234.",
            '{"order_id": "A123456", "items": [{"sku": "SKU-1234", "qty": 2}], "ship_to": "9 Nowhere Road"}',
            "the address is not in the input",
        ),
        (
            "Order A123456: 2 x SKU-1234.",
            '{"order_id": "A123456", "items": [], "ship_to": null, "note": "x"}',
            SCHEMA_BROKEN.format(path="/"),
        ),
    ],
)
def test_the_validator_catches_a_broken_pair(text, expected, problem):
    assert any(found.startswith(problem) for found in OrderExtraction().validate(Pair(text, expected)))


def test_check_json_reports_a_parse_error_with_its_position():
    assert check_json('{"a": }', None) == [
        "the expected output is not JSON: Expecting value at line 1, column 7 (char 6)"
    ]
    assert check_json('{"a": 1}', {"type": "object"}) == []


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("nodots", InvalidInput, "'nodots' is not a dotted path to a generator"),
        ("no.such.module:Thing", ConfigError, "The generator module 'no.such.module' cannot be imported"),
        ("fixtures.generators.order_extraction:Nope", ConfigError, "has no attribute 'Nope'"),
        (
            "fixtures.generators.order_extraction:SCHEMA",
            ConfigError,
            "is not a generator: it lacks name, version",
        ),
    ],
)
def test_a_bad_generator_path_says_what_is_wrong(path, error, message):
    with pytest.raises(error, match=message):
        load_generator(path)


def test_a_tuple_is_a_pair_and_anything_else_is_refused():
    assert as_pair(("in", "out")) == Pair("in", "out")
    with pytest.raises(InvalidInput, match="the generator yielded dict"):
        as_pair({"input": "x"})
