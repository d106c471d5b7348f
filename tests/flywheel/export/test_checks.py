"""The JSON/schema check of golden answers and the leak check; messages never quote content."""

from __future__ import annotations

from dataclasses import replace

from flywheel.export import formats
from flywheel.export.checks import JsonCheck, LeakCheck
from flywheel.export.records import Split
from tests.flywheel.export.items import make_item

JSON_TASK = make_item(1)[0]
SECRET = "Kendra-Vida-4711"


def test_a_valid_json_answer_that_follows_its_schema_passes():
    assert JsonCheck().problem(JSON_TASK) is None


def test_a_json_answer_that_does_not_parse_is_named_with_where_it_broke_but_not_what_it_says():
    broken = replace(JSON_TASK, answer='{"order_id": "' + SECRET)
    problem = JsonCheck().problem(broken)
    assert problem is not None
    assert problem.startswith(f"item {JSON_TASK.item_key}: the golden answer of a JSON task does not parse")
    assert "line 1 column" in problem and SECRET not in problem


def test_nan_and_infinity_are_not_json():
    problem = JsonCheck().problem(replace(JSON_TASK, answer='{"order_id": NaN, "status": "x"}'))
    assert (
        problem == f"item {JSON_TASK.item_key}: the golden answer of a JSON task uses NaN, which is not JSON"
    )


def test_a_json_answer_that_fails_its_schema_names_the_path_and_the_rule():
    wrong_type = replace(JSON_TASK, answer='{"order_id": 12, "status": "' + SECRET + '"}')
    assert JsonCheck().problem(wrong_type) == (
        f"item {JSON_TASK.item_key}: the golden answer fails its JSON schema at /order_id (type)"
    )
    missing = replace(JSON_TASK, answer='{"order_id": "A"}')
    assert JsonCheck().problem(missing) == (
        f"item {JSON_TASK.item_key}: the golden answer fails its JSON schema at / (required)"
    )


def test_refusals_and_text_tasks_are_not_held_to_json():
    assert JsonCheck().problem(replace(JSON_TASK, answer="I can't help with that.", must_refuse=True)) is None
    assert JsonCheck().problem(replace(JSON_TASK, output_format="text", answer="not json")) is None
    assert JsonCheck().problem(replace(JSON_TASK, json_schema=None, answer="[1, 2]")) is None


def test_an_invalid_schema_is_reported_as_such():
    problem = JsonCheck().problem(replace(JSON_TASK, json_schema={"type": "no-such-type"}))
    assert problem is not None and "its JSON schema is not valid" in problem


def _add(check: LeakCheck, item, split: Split) -> None:
    check.add(item, split, formats.content_digest(item))


def test_the_leak_check_reports_an_item_group_trace_or_content_on_two_sides():
    a, b = make_item(0)[0], make_item(3)[0]
    check = LeakCheck()
    _add(check, a, Split.TRAIN)
    _add(check, b, Split.TEST)
    assert check.overlaps == 0 and check.problems == []
    same_group = replace(b, item_key="other", trace_key="t-other", answer="different", group_key=a.group_key)
    _add(check, same_group, Split.TEST)
    same_content = replace(a, item_key="copy", group_key="g-copy", trace_key=None)
    _add(check, same_content, Split.VAL)
    assert check.problems == [
        f"leak: item {a.item_key!r} (train) and item 'other' (test) share their group",
        f"leak: item {a.item_key!r} (train) and item 'copy' (val) share their content",
    ]
    assert check.overlaps == 2


def test_an_item_the_predecessor_held_out_must_not_be_trained_on_now():
    a = make_item(0)[0]
    check = LeakCheck({a.item_key: Split.TEST}, "acme-v1")
    _add(check, a, Split.TRAIN)
    assert check.problems == [
        f"leak: item {a.item_key!r} was in test of acme-v1; it must not be trained on now"
    ]
