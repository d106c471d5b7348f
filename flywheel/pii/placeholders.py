"""Typed, consistent placeholders for one trace, persistable without the raw values.

Inside one trace the same person stays ``<PERSON_1>`` everywhere, so a scrubbed conversation
still reads coherently ("<PERSON_1> asked ... <PERSON_1> later said ..."). The registry only
remembers ``HMAC(key, type + NUL + normalised value) -> placeholder``: with the mapping
persisted, re-ingesting the same trace reproduces byte-identical output, and a database leak
gives away no names (the key keeps short, guessable values like first names from being
brute-forced out of the digests).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from flywheel.errors import ConfigError, InvalidInput

# Matches every placeholder we emit. The scrubber also uses it to leave placeholders already
# in a text alone, which is what makes re-scrubbing scrubbed text a no-op.
PLACEHOLDER_RE = re.compile(r"<([A-Z][A-Z0-9_]*)_([1-9][0-9]*)>")

_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
_BAD_MAPPING = "The persisted PII placeholder mapping is malformed."
_BAD_MAPPING_HINT = "It must map 64-hex-digit digests to distinct placeholders like <PERSON_1>."


def normalise(value: str) -> str:
    """Case and spacing do not make a different person: "Ada  Lovelace" == "ada lovelace"."""
    return " ".join(value.split()).casefold()


class PlaceholderRegistry:
    """Hands out ``<TYPE_n>`` placeholders for one trace, numbering each type from 1."""

    def __init__(self, key: bytes, mapping: Mapping[str, str] | None = None) -> None:
        # Only emptiness is refused here: the service's key comes from settings (PII_HASH_KEY,
        # by default SECRET_KEY), which is where its strength is checked; benches and tests
        # use short fixed keys on purpose.
        if not isinstance(key, bytes) or not key:
            raise ConfigError(
                "The PII placeholder key is missing.",
                hint="Pass the service's PII_HASH_KEY as bytes (32+ random bytes), the same for every run.",
            )
        self._key = key
        self._by_digest: dict[str, str] = {}
        self._highest: dict[str, int] = {}
        for digest, placeholder in (mapping or {}).items():
            if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
                raise InvalidInput(_BAD_MAPPING, hint=_BAD_MAPPING_HINT)
            if not isinstance(placeholder, str) or not PLACEHOLDER_RE.fullmatch(placeholder):
                raise InvalidInput(_BAD_MAPPING, hint=_BAD_MAPPING_HINT)
            self._by_digest[digest] = placeholder
            self.reserve(placeholder)
        if len(set(self._by_digest.values())) != len(self._by_digest):
            raise InvalidInput(_BAD_MAPPING, hint=_BAD_MAPPING_HINT)

    def placeholder_for(self, entity_type: str, value: str) -> str:
        digest = self._digest(entity_type, value)
        placeholder = self._by_digest.get(digest)
        if placeholder is None:
            number = self._highest.get(entity_type, 0) + 1
            placeholder = f"<{entity_type}_{number}>"
            self._highest[entity_type] = number
            self._by_digest[digest] = placeholder
        return placeholder

    def reserve(self, placeholder: str) -> None:
        """Mark a placeholder as taken, so no new value gets its number.

        The scrubber reserves the placeholders already present in a trace before it assigns
        new ones; otherwise a re-scrub could give a newly found name ``<PERSON_1>`` while an
        older ``<PERSON_1>`` in the same trace means someone else.
        """
        match = PLACEHOLDER_RE.fullmatch(placeholder)
        if match is None:
            raise ValueError("Not a placeholder.")
        entity_type, number = match.group(1), int(match.group(2))
        self._highest[entity_type] = max(self._highest.get(entity_type, 0), number)

    @property
    def mapping(self) -> dict[str, str]:
        """``{digest: placeholder}``, JSON-safe; pass it back to the constructor to resume."""
        return dict(self._by_digest)

    def _digest(self, entity_type: str, value: str) -> str:
        if not PLACEHOLDER_RE.fullmatch(f"<{entity_type}_1>"):
            raise ValueError("Entity types are upper-case identifiers like PERSON.")
        message = f"{entity_type}\0{normalise(value)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never show digests or the key
        return f"PlaceholderRegistry({len(self._by_digest)} placeholders)"
