from __future__ import annotations

from flywheel.pii import DenyPattern, FakeScrubber, Scrubber, ScrubConfig, ScrubDoc


def test_the_fake_scrubber_replaces_emails_phones_and_listed_names_like_the_real_one(key):
    fake = FakeScrubber(key=key, names=("Ada Lovelace", "Grace"))
    assert isinstance(fake, Scrubber)
    trace = {
        "messages": ["Ada Lovelace: mail ada@example.com or call +44 20 7946 0958", "Grace and Ada Lovelace"]
    }
    [result] = fake.scrub_many([ScrubDoc(trace, fake.new_registry())])
    assert result.value == {
        "messages": [
            "<PERSON_1>: mail <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1>",
            "<PERSON_2> and <PERSON_1>",
        ]
    }
    assert result.counts == {"PERSON": 3, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}


def test_the_fake_scrubber_honours_the_config(key):
    config = ScrubConfig(
        entities=("PERSON",),
        allow_list=("Grace",),
        deny_patterns=(DenyPattern("id", "ACCOUNT_ID", r"ACC-\d{8}"),),
    )
    fake = FakeScrubber(config, key=key, names=("Ada", "Grace"))
    scrubbed, counts = fake.scrub_text("Ada, Grace, ACC-12345678, ada@example.com", fake.new_registry())
    assert scrubbed == "<PERSON_1>, Grace, <ACCOUNT_ID_1>, ada@example.com"
    assert counts == {"PERSON": 1, "ACCOUNT_ID": 1}
    assert fake.config_hash != config.config_hash()  # never mistaken for the real scrubber's output
