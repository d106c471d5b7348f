"""Shared fixtures: the real scrubbers are built once per session (Presidio + spaCy take
seconds to load)."""

from __future__ import annotations

import pytest

from flywheel.pii import DenyPattern, PresidioScrubber, ScrubConfig

KEY = b"test-key-not-secret-0123456789ab"
ACCOUNT_IDS = DenyPattern(name="internal account id", entity_type="ACCOUNT_ID", regex=r"ACC-\d{8}")


@pytest.fixture(scope="session")
def scrubber() -> PresidioScrubber:
    """Project defaults."""
    return PresidioScrubber(ScrubConfig(), key=KEY)


@pytest.fixture(scope="session")
def custom_scrubber() -> PresidioScrubber:
    """Defaults plus a project allow list and deny pattern."""
    config = ScrubConfig(allow_list=("Flywheel", "Acme Support"), deny_patterns=(ACCOUNT_IDS,))
    return PresidioScrubber(config, key=KEY)


@pytest.fixture
def key() -> bytes:
    return KEY
