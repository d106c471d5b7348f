from __future__ import annotations

import json

from flywheel.pii.pipeline import iter_strings, rebuild, segments


def test_a_json_document_in_a_string_is_analysed_value_by_value_and_keeps_its_keys():
    text = json.dumps({"name": "Kendra Vida", "tags": ["vip", "---"], "n": 3, "note": 'say "hi"'})
    parts = segments(text)
    assert [segment for _, segment in parts] == ["Kendra Vida", "vip", 'say \\"hi\\"']
    assert all(text[offset : offset + len(segment)] == segment for offset, segment in parts)


def test_text_that_only_looks_like_json_is_analysed_whole():
    assert segments("{not json} Kendra Vida") == [(0, "{not json} Kendra Vida")]
    assert segments("Kendra Vida") == [(0, "Kendra Vida")]


def test_leaves_are_visited_in_the_same_order_by_both_walks():
    value = {"b": ["x", {"c": "y"}], "a": ("z", 1)}
    seen: list[str] = []
    rebuilt = rebuild(value, lambda s: seen.append(s) or s.upper())
    assert seen == list(iter_strings(value)) == ["x", "y", "z"]
    assert rebuilt == {"b": ["X", {"c": "Y"}], "a": ("Z", 1)}
