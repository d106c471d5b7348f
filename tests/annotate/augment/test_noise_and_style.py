"""Noise, tone, length and clause order: what each op does, and what none of them touches."""

from __future__ import annotations

import re

import pytest

from annotate.augment import Drop, DropReason, SeedItem, Variant, derived_rng
from annotate.augment.noise import OPS, Noise
from annotate.augment.style import Length, Reorder, Tone
from annotate.augment.text import anchors
from tests.annotate.augment.items import EXTRACT, QA


def request(variant):
    assert isinstance(variant, Variant), variant
    return variant.prompt[-1]["content"]


def ask(text: str) -> SeedItem:
    return SeedItem(key="k", prompt=({"role": "user", "content": text},), answer="ok")


@pytest.mark.parametrize("op", OPS)
def test_each_noise_op_changes_the_request_but_never_an_identifier(op):
    for i in range(20):
        text = request(Noise(ops=(op,), max_ops=1, typo_rate=0.5).apply(EXTRACT, derived_rng(op, i)))
        assert anchors(text) == anchors(EXTRACT.prompt[-1]["content"])
        assert text != EXTRACT.prompt[-1]["content"]


def test_typos_hit_about_the_asked_share_of_the_words_and_keep_first_and_last_letters():
    text = "Please explain whether somebody could possibly deliver tomorrow morning before lunchtime " * 3
    noisy = request(Noise(ops=("typos",), max_ops=1, typo_rate=0.2).apply(ask(text), derived_rng(1)))
    before, after = text.split(), noisy.split()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert 2 <= len(changed) <= 8
    assert all(a[0] == b[0] and a[-1] == b[-1] for a, b in changed)


def test_casing_noise_lowercases_words_but_not_identifiers_or_placeholders():
    for i in range(10):
        text = request(Noise(ops=("casing",), max_ops=1).apply(EXTRACT, derived_rng("c", i)))
        assert "SKU-1234" in text and "<PERSON_1>" in text and "A111222" in text


def test_the_noise_ops_chosen_are_recorded_and_at_most_max_ops():
    for i in range(20):
        variant = Noise(max_ops=2).apply(QA, derived_rng(i))
        assert isinstance(variant, Variant)
        assert 1 <= len(variant.params["ops"]) <= 2 and set(variant.params["ops"]) <= set(OPS)


def test_noise_with_nothing_to_change_is_dropped_as_no_change():
    outcome = Noise(ops=("typos",), max_ops=1).apply(ask("ok A1 <PERSON_1>"), derived_rng(0))
    assert outcome == Drop(DropReason.NO_CHANGE, "the chosen ops found nothing to change")


def test_chinese_noise_never_adds_english_typos_or_casing():
    item = ask("请问我的订单A777888什么时候发货?")
    for i in range(10):
        variant = Noise(ops=("typos", "casing"), max_ops=2).apply(item, derived_rng(i))
        assert variant == Drop(DropReason.NOT_APPLICABLE, "nothing in the request the chosen ops can change")


def test_a_tone_frames_the_request_and_replaces_its_greeting_and_sign_off():
    text = request(Tone(tones=("formal",)).apply(QA, derived_rng(0)))
    assert text.count("Hi there") == 0 and "Thanks!" not in text
    assert "Where is my order A123456? The blender was due last week." in text
    assert text.startswith(("Good day.", "Dear support team,")) and text.endswith(("assistance.", "regards."))


def test_terse_tone_strips_pleasantries_and_please():
    item = ask("Hello, I hope you're well. Could you please check order A123456? Thank you so much!")
    assert request(Tone(tones=("terse",)).apply(item, derived_rng(0))) == "Could you check order A123456?"


def test_shorter_never_drops_a_sentence_that_carries_an_identifier():
    item = ask("Hi there. Thanks! Where is A123456? Have a nice day.")
    assert request(Length(modes=("shorter",)).apply(item, derived_rng(0))) == "Where is A123456?"


def test_shorter_without_pleasantries_is_not_applicable():
    outcome = Length(modes=("shorter",)).apply(ask("Where is A123456? Cancel it."), derived_rng(0))
    assert outcome == Drop(DropReason.NOT_APPLICABLE, "no pleasantry to drop and 'longer' is not enabled")


def test_longer_adds_background_sentences_that_hold_no_identifier():
    variant = Length(modes=("longer",)).apply(QA, derived_rng(2))
    text = request(variant)
    assert len(text) > len(QA.prompt[-1]["content"]) and anchors(text) == anchors(QA.prompt[-1]["content"])
    assert variant.params["added"] in (1, 2)


def test_reorder_keeps_greeting_first_sign_off_last_and_a_correction_after_what_it_corrects():
    item = ask("Hi there. Ship order A1 to Berlin. Actually, make that Paris instead. Call me first. Thanks!")
    seen = set()
    for i in range(10):
        text = request(Reorder().apply(item, derived_rng(i)))
        assert text.startswith("Hi there.") and text.endswith("Thanks!")
        assert re.search(r"Ship order A1 to Berlin\. Actually, make that Paris instead\.", text)
        seen.add(text)
    assert seen == {
        "Hi there. Call me first. Ship order A1 to Berlin. Actually, make that Paris instead. Thanks!"
    }


def test_a_sentence_that_points_back_stays_with_the_one_before_it():
    item = ask("Ship order A1 to Berlin. Also gift-wrap it. It is a present.")
    assert Reorder().apply(item, derived_rng(0)) == Drop(
        DropReason.NOT_APPLICABLE, "fewer than two independent sentences"
    )


def test_reorder_of_a_single_sentence_is_not_applicable():
    outcome = Reorder().apply(ask("Hi there. Where is A123456?"), derived_rng(0))
    assert outcome == Drop(DropReason.NOT_APPLICABLE, "fewer than two independent sentences")
