"""Builds the project's scrubber from its PII policy and the service settings."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from django.conf import settings

from flywheel.models import Project
from flywheel.pii.config import DenyPattern, ScrubConfig
from flywheel.pii.scrubber import PresidioScrubber, Scrubber


def scrub_config_for(project: Project) -> ScrubConfig:
    base = ScrubConfig(spacy_model=settings.PII_SPACY_MODEL, n_process=settings.PII_N_PROCESS)
    overrides: dict[str, object] = {}
    if project.pii_entities:
        overrides["entities"] = tuple(project.pii_entities)
    if project.pii_score_threshold is not None:
        overrides["score_threshold"] = project.pii_score_threshold
    if project.pii_allow_list:
        overrides["allow_list"] = tuple(project.pii_allow_list)
    if project.pii_deny_patterns:
        overrides["deny_patterns"] = tuple(
            DenyPattern(
                name=item["name"],
                entity_type=item["entity"],
                regex=item["regex"],
                score=float(item.get("score", 0.9)),
            )
            for item in project.pii_deny_patterns
        )
    return dataclasses.replace(base, **overrides) if overrides else base  # type: ignore[arg-type]


@lru_cache(maxsize=8)
def _scrubber(config: ScrubConfig) -> Scrubber:
    return PresidioScrubber(config, key=hash_key())


def scrubber_for(project: Project) -> Scrubber:
    return _scrubber(scrub_config_for(project))


def hash_key() -> bytes:
    return settings.PII_HASH_KEY.encode()
