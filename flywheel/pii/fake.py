"""A regex-only Scrubber for fast tests of the modules around the scrubber.

It finds e-mail addresses, phone-like digit groups, the given names and the config's deny
patterns, then runs the same pipeline as PresidioScrubber (same placeholders, overlap
handling, allow list, counts), so code tested against it behaves the same in production.
Never use it on real data: it misses most PII.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from flywheel.pii.config import ScrubConfig
from flywheel.pii.pipeline import ScrubDoc, ScrubResult, scrub_docs
from flywheel.pii.placeholders import PlaceholderRegistry
from flywheel.pii.spans import Detection, allow_list_regex

DEFAULT_NAMES = ("Alice", "Bob", "Carol", "Dave", "Ada Lovelace", "Grace Hopper")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{6,}\d(?!\w)")


class FakeScrubber:
    def __init__(
        self, config: ScrubConfig | None = None, *, key: bytes, names: Sequence[str] = DEFAULT_NAMES
    ) -> None:
        self.config = config or ScrubConfig()
        PlaceholderRegistry(key)  # same key check as the real scrubber
        self._key = key
        self._allow = allow_list_regex(self.config.allow_list)
        longest_first = sorted(names, key=len, reverse=True)
        self._names = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, longest_first)) + r")\b") if names else None
        )
        self._deny = [(re.compile(p.regex), p.entity_type, p.score) for p in self.config.deny_patterns]
        blob = "\0".join(["fake", self.config.config_hash(), *sorted(names)])
        self.config_hash = hashlib.sha256(blob.encode()).hexdigest()

    def new_registry(self, mapping: Mapping[str, str] | None = None) -> PlaceholderRegistry:
        return PlaceholderRegistry(self._key, mapping)

    def scrub_many(self, docs: Sequence[ScrubDoc]) -> list[ScrubResult]:
        return scrub_docs(docs, self._detect, self._allow)

    def scrub_text(self, text: str, registry: PlaceholderRegistry) -> tuple[str, dict[str, int]]:
        [result] = self.scrub_many([ScrubDoc(text, registry)])
        return result.value, result.counts

    def _detect(self, texts: list[str]) -> list[list[Detection]]:
        matchers = [(_EMAIL, "EMAIL_ADDRESS", 1.0), (_PHONE, "PHONE_NUMBER", 0.5), *self._deny]
        if self._names is not None:
            matchers.append((self._names, "PERSON", 0.85))
        wanted = set(self.config.resolved_entities)
        matchers = [matcher for matcher in matchers if matcher[1] in wanted]
        return [
            [
                Detection(m.start(), m.end(), entity, score)
                for regex, entity, score in matchers
                for m in regex.finditer(text)
            ]
            for text in texts
        ]
