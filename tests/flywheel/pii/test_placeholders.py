from __future__ import annotations

import json

import pytest

from flywheel.errors import ConfigError, InvalidInput
from flywheel.pii.placeholders import PlaceholderRegistry, normalise


def test_the_same_value_of_the_same_type_gets_the_same_placeholder(key):
    registry = PlaceholderRegistry(key)
    assert registry.placeholder_for("PERSON", "Ada Lovelace") == "<PERSON_1>"
    assert registry.placeholder_for("PERSON", "Ada Lovelace") == "<PERSON_1>"


def test_case_and_whitespace_do_not_make_a_new_value(key):
    registry = PlaceholderRegistry(key)
    first = registry.placeholder_for("PERSON", "Ada Lovelace")
    assert registry.placeholder_for("PERSON", "  ada\n LOVELACE ") == first
    assert normalise("  Ada \t Lovelace\n") == "ada lovelace"


def test_numbering_is_per_entity_type_and_starts_at_one(key):
    registry = PlaceholderRegistry(key)
    assert registry.placeholder_for("PERSON", "Ada") == "<PERSON_1>"
    assert registry.placeholder_for("EMAIL_ADDRESS", "ada@example.com") == "<EMAIL_ADDRESS_1>"
    assert registry.placeholder_for("PERSON", "Grace") == "<PERSON_2>"
    # The same text as another type is another value.
    assert registry.placeholder_for("LOCATION", "Ada") == "<LOCATION_1>"


def test_another_registry_restarts_at_one(key):
    first, second = PlaceholderRegistry(key), PlaceholderRegistry(key)
    first.placeholder_for("PERSON", "Ada")
    first.placeholder_for("PERSON", "Grace")
    assert second.placeholder_for("PERSON", "Grace") == "<PERSON_1>"


def test_the_mapping_is_json_safe_and_holds_no_raw_value(key):
    registry = PlaceholderRegistry(key)
    registry.placeholder_for("PERSON", "Ada Lovelace")
    registry.placeholder_for("EMAIL_ADDRESS", "ada@example.com")
    blob = json.dumps(registry.mapping)
    assert "ada" not in blob.lower()
    assert "lovelace" not in blob.lower()
    assert sorted(registry.mapping.values()) == ["<EMAIL_ADDRESS_1>", "<PERSON_1>"]
    assert "Lovelace" not in repr(registry)


def test_a_reloaded_mapping_continues_where_it_stopped(key):
    registry = PlaceholderRegistry(key)
    registry.placeholder_for("PERSON", "Ada")
    registry.placeholder_for("PERSON", "Grace")
    reloaded = PlaceholderRegistry(key, json.loads(json.dumps(registry.mapping)))
    assert reloaded.placeholder_for("PERSON", "grace") == "<PERSON_2>"
    assert reloaded.placeholder_for("PERSON", "Alan") == "<PERSON_3>"


def test_a_mapping_is_useless_under_another_key(key):
    registry = PlaceholderRegistry(key)
    registry.placeholder_for("PERSON", "Ada")
    other = PlaceholderRegistry(b"another-key-0123456789abcdef", registry.mapping)
    assert other.placeholder_for("PERSON", "Ada") == "<PERSON_2>"


def test_reserved_placeholders_are_not_handed_out_again(key):
    registry = PlaceholderRegistry(key)
    registry.reserve("<PERSON_3>")
    assert registry.placeholder_for("PERSON", "Ada") == "<PERSON_4>"
    assert registry.placeholder_for("EMAIL_ADDRESS", "a@b.org") == "<EMAIL_ADDRESS_1>"


@pytest.mark.parametrize("bad_key", [b"", "a text key instead of bytes", None])
def test_a_missing_key_is_a_config_error(bad_key):
    with pytest.raises(ConfigError, match="key"):
        PlaceholderRegistry(bad_key)


@pytest.mark.parametrize(
    "mapping",
    [
        {"not-a-digest": "<PERSON_1>"},
        {"a" * 64: "PERSON_1"},
        {"a" * 64: "<PERSON_1>", "b" * 64: "<PERSON_1>"},
        {"a" * 64: 1},
    ],
)
def test_a_malformed_mapping_is_rejected_without_quoting_it(mapping, key):
    with pytest.raises(InvalidInput) as error:
        PlaceholderRegistry(key, mapping)
    assert "not-a-digest" not in str(error.value)
