"""Shared fixtures. Loaded models are session-scoped: Presidio + spaCy load once per run."""

from __future__ import annotations

import os

# Playwright drives the browser from an event loop in this thread; the ORM calls in tests are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.conf import settings

DB_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a PostgreSQL run, run only the tests that touch the database (the rest ran on SQLite).

    Slow tests run there only when marked ``postgres`` or ``also_postgres``: the others (training,
    clustering, Presidio end to end) spend their time outside the database and ran on SQLite.
    """
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        for item in items:
            if item.get_closest_marker("postgres"):
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (make test-postgres runs it)"))
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        uses_db = bool(DB_FIXTURES & set(getattr(item, "fixturenames", ()))) or item.get_closest_marker(
            "django_db"
        )
        once = item.get_closest_marker("slow") and not (
            item.get_closest_marker("postgres") or item.get_closest_marker("also_postgres")
        )
        (keep if uses_db and not once else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def presidio_scrubber():
    from flywheel.pii.config import ScrubConfig
    from flywheel.pii.scrubber import PresidioScrubber

    return PresidioScrubber(
        ScrubConfig(spacy_model=settings.PII_SPACY_MODEL), key=settings.PII_HASH_KEY.encode()
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 from its package, loaded once per test run."""
    from flywheel.cluster.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()
