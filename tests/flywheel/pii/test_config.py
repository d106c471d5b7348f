from __future__ import annotations

import pytest

from flywheel.errors import ConfigError
from flywheel.pii.config import DEFAULT_ENTITIES, DenyPattern, ScrubConfig


def test_the_default_config_hash_is_stable_and_hex():
    assert ScrubConfig().config_hash() == ScrubConfig().config_hash()
    assert len(ScrubConfig().config_hash()) == 64


def test_the_hash_changes_with_anything_that_changes_the_output():
    base = ScrubConfig().config_hash()
    assert ScrubConfig(score_threshold=0.5).config_hash() != base
    assert ScrubConfig(spacy_model="en_core_web_lg").config_hash() != base
    assert ScrubConfig(allow_list=("Acme",)).config_hash() != base
    assert ScrubConfig(deny_patterns=(DenyPattern("id", "ACCOUNT_ID", r"ACC-\d{8}"),)).config_hash() != base


def test_the_hash_ignores_throughput_settings_and_list_order():
    base = ScrubConfig().config_hash()
    assert ScrubConfig(batch_size=8, n_process=2).config_hash() == base
    assert ScrubConfig(entities=tuple(reversed(DEFAULT_ENTITIES))).config_hash() == base


def test_lists_from_settings_are_frozen_into_tuples_so_the_config_stays_hashable():
    config = ScrubConfig(entities=["PERSON"], allow_list=["Acme"])  # type: ignore[arg-type]
    assert config.entities == ("PERSON",)
    assert hash(config)


def test_deny_pattern_types_are_looked_for_too():
    config = ScrubConfig(entities=("PERSON",), deny_patterns=(DenyPattern("id", "ACCOUNT_ID", r"ACC-\d+"),))
    assert config.resolved_entities == ("PERSON", "ACCOUNT_ID")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DenyPattern("broken", "ACCOUNT_ID", r"ACC-(\d"), "deny pattern 'broken' is not a valid"),
        (lambda: DenyPattern("lower", "account_id", r"ACC"), "entity type 'account_id'"),
        (lambda: DenyPattern("zero", "ACCOUNT_ID", r"ACC", score=0), "score 0"),
        (lambda: ScrubConfig(score_threshold=1.5), "score_threshold is 1.5"),
        (lambda: ScrubConfig(entities=()), "looks for no entity types"),
        (lambda: ScrubConfig(batch_size=0), "batch_size"),
        (lambda: ScrubConfig(allow_list=(" ",)), "empty term"),
    ],
)
def test_misconfiguration_fails_early_with_a_config_error(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
