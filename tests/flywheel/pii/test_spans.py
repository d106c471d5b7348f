"""Overlap resolution and protection, on hand-made detections (no Presidio)."""

from __future__ import annotations

import json

from flywheel.pii.placeholders import PlaceholderRegistry
from flywheel.pii.spans import Detection, allow_list_regex, apply, resolve


def _resolved(text, *found, allow=()):
    spans = resolve(
        text,
        [Detection(text.index(v), text.index(v) + len(v), t, s) for v, t, s in found],
        allow_list_regex(allow),
    )
    return [(text[d.start : d.end], d.entity_type) for d in spans]


def test_a_url_inside_an_email_address_yields_one_email_address():
    text = "mail ada@www.example.com now"
    found = _resolved(text, ("ada@www.example.com", "EMAIL_ADDRESS", 1.0), ("www.example.com", "URL", 0.5))
    assert found == [("ada@www.example.com", "EMAIL_ADDRESS")]


def test_a_contained_span_loses_even_with_a_higher_score():
    text = "ship to 1755 Nelson Mandela Drive"
    found = _resolved(text, ("1755 Nelson Mandela Drive", "ADDRESS", 0.5), ("Nelson Mandela", "PERSON", 0.85))
    assert found == [("1755 Nelson Mandela Drive", "ADDRESS")]


def test_partly_overlapping_spans_become_their_union():
    text = "x Alice Smith Street y"
    found = _resolved(text, ("Alice Smith", "PERSON", 0.85), ("Smith Street", "LOCATION", 0.85))
    assert found == [("Alice Smith Street", "LOCATION")]  # typed after the longer one


def test_placeholders_in_the_text_are_cut_out_of_detections():
    text = "Dear <PERSON_1> Smith, hi"
    assert _resolved(text, ("<PERSON_1> Smith", "PERSON", 0.85)) == [("Smith", "PERSON")]
    assert _resolved(text, ("PERSON_1", "PERSON", 0.85)) == []


def test_allow_listed_terms_are_cut_out_whole_word_and_case_insensitively():
    text = "ask acme  support or Acmes"
    found = _resolved(
        text, ("acme  support", "PERSON", 0.85), ("Acmes", "PERSON", 0.85), allow=("Acme Support",)
    )
    assert found == [("Acmes", "PERSON")]


def test_a_detection_never_swallows_a_double_quote_so_json_in_a_string_stays_valid(key):
    text = '{"a": "Ada", "b": "Grace"}'
    start = text.index("Ada")
    spans = resolve(text, [Detection(start, text.index("Grace") + 5, "PERSON", 0.85)], None)
    out, _ = apply(text, spans, PlaceholderRegistry(key))
    assert set(json.loads(out).values()) <= {"<PERSON_1>", "<PERSON_2>", "<PERSON_3>"}
    assert "Ada" not in out
    assert "Grace" not in out


def test_apply_numbers_in_reading_order_and_counts_occurrences(key):
    text = "Grace met Ada, then Grace left"
    spans = resolve(
        text,
        [Detection(0, 5, "PERSON", 1), Detection(10, 13, "PERSON", 1), Detection(20, 25, "PERSON", 1)],
        None,
    )
    out, counts = apply(text, spans, PlaceholderRegistry(key))
    assert out == "<PERSON_1> met <PERSON_2>, then <PERSON_1> left"
    assert counts == {"PERSON": 3}
