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


def _context_detector(texts):
    """Finds 'Lake Tammy' only once the street before it is gone, as spaCy's NER does."""
    from flywheel.pii.spans import Detection

    found = []
    for text in texts:
        spans = []
        if "Lee Gardens" in text:
            start = text.index("Lee Gardens")
            spans.append(Detection(start, start + len("Lee Gardens"), "LOCATION", 0.85))
        elif "Lake Tammy" in text:
            start = text.index("Lake Tammy")
            spans.append(Detection(start, start + len("Lake Tammy"), "LOCATION", 0.85))
        found.append(spans)
    return found


def test_a_string_the_first_pass_changed_gets_a_second_look():
    from flywheel.pii.pipeline import ScrubDoc, scrub_docs
    from flywheel.pii.placeholders import PlaceholderRegistry

    text = "ship to 12 Lee Gardens, Lake Tammy"
    [once] = scrub_docs([ScrubDoc(text, PlaceholderRegistry(b"k" * 32))], _context_detector, None, passes=1)
    assert once.value == "ship to 12 <LOCATION_1>, Lake Tammy"
    [twice] = scrub_docs([ScrubDoc(text, PlaceholderRegistry(b"k" * 32))], _context_detector, None)
    assert twice.value == "ship to 12 <LOCATION_1>, <LOCATION_2>"
    assert twice.counts == {"LOCATION": 2}


def test_strings_without_findings_are_analysed_once():
    from flywheel.pii.pipeline import ScrubDoc, scrub_docs
    from flywheel.pii.placeholders import PlaceholderRegistry

    seen: list[str] = []

    def detector(texts):
        seen.extend(texts)
        return [[] for _ in texts]

    scrub_docs(
        [ScrubDoc({"a": "nothing here", "b": "nor here"}, PlaceholderRegistry(b"k" * 32))], detector, None
    )
    assert seen == ["nothing here", "nor here"]
