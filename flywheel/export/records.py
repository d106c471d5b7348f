"""Typed records of the export core: one item, the query that selects items, the policy, the spec.

Plain Python (no Django): the service builds these from the database, the bench builds them
from generated data, and the pipeline only ever sees these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flywheel.errors import InvalidInput

Message = dict[str, Any]

DEFAULT_MIX: Mapping[str, float] = {"golden": 0.4, "negative": 0.2, "boundary": 0.3, "generic": 0.1}
UNCLUSTERED = "none"  # how a query names items without a cluster
CLUSTER_RE = re.compile(r"C[1-9][0-9]*")

BAD_SHARES = (
    "test_share ({test:g}) and val_share ({val:g}) must each be between 0 and 0.5 and leave most "
    "items for training."
)
BAD_THRESHOLD = "The near-duplicate threshold must be in (0, 1], got {value:g}."
BAD_MARGIN = "mix_margin must be between 0 and 1, got {value:g}."
BAD_MIX = "mix_target maps sample types to shares between 0 and 1; got {value!r}."
BAD_CLUSTER = "Clusters are named like C12 (or '{none}' for unclustered items); got {value!r}."
EMPTY_WINDOW = "The time window is empty: since ({since}) is not before until ({until})."
BAD_TIME = "{name} takes a date (2026-11-01) or an ISO 8601 time (2026-11-01T06:00:00Z); got {value!r}."
BAD_VERSIONS = "SOP versions are numbers such as 3 or 2,3; got {value!r}."


class Split(StrEnum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"

    @property
    def rank(self) -> int:
        """Held-out wins: when two groups that must share a side disagree, the higher rank is kept."""
        return {Split.TRAIN: 0, Split.VAL: 1, Split.TEST: 2}[self]


SPLITS = (Split.TRAIN, Split.VAL, Split.TEST)


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One final sample, resolved: everything a release row and its checks need.

    ``prompt`` holds the messages before the golden answer; ``rejected_answer`` the model's
    original answer when it was wrong ("" otherwise). ``trace_key`` and ``seed_key`` tie the
    item to others that must stay on its side of every split.
    """

    item_key: str
    group_key: str
    prompt: tuple[Message, ...]
    answer: str
    rejected_answer: str = ""
    output_format: str = "text"
    task_type: str = "unspecified"
    sample_type: str = "golden"
    must_refuse: bool = False
    json_schema: Mapping[str, Any] | None = None
    reference_exact: bool = False
    difficulty: str | None = None
    domain: str | None = None
    source: str | None = None
    source_id: str | None = None
    observation_id: str | None = None
    cluster: str | None = None
    annotator: str | None = None
    reviewer: str | None = None
    annotators: tuple[str, ...] = ()
    sop_version: int | None = None
    augment_type: str | None = None
    augment_round: int | None = None
    origin: str = "annotation"
    decision: str = ""
    decided_at: datetime | None = None
    trace_key: str | None = None
    seed_key: str | None = None


@dataclass(frozen=True)
class ReleaseQuery:
    """Which final samples a release is built from. Empty tuples and None mean "no restriction"."""

    since: datetime | None = None  # decided at or after
    until: datetime | None = None  # decided before
    clusters: tuple[str, ...] = ()  # "C12", or UNCLUSTERED
    sample_types: tuple[str, ...] = ()
    sop_versions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in self.clusters:
            if name != UNCLUSTERED and not CLUSTER_RE.fullmatch(name):
                raise InvalidInput(BAD_CLUSTER.format(value=name[:40], none=UNCLUSTERED))
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput(
                EMPTY_WINDOW.format(since=self.since.isoformat(), until=self.until.isoformat())
            )

    def matches(self, item: ExportItem) -> bool:
        if self.clusters and (item.cluster or UNCLUSTERED) not in self.clusters:
            return False
        if self.sample_types and item.sample_type not in self.sample_types:
            return False
        if self.sop_versions and item.sop_version not in self.sop_versions:
            return False
        when = item.decided_at
        if self.since and (when is None or when < self.since):
            return False
        return not (self.until and (when is None or when >= self.until))

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "clusters": list(self.clusters),
            "sample_types": list(self.sample_types),
            "sop_versions": list(self.sop_versions),
        }


@dataclass(frozen=True)
class ExportPolicy:
    """The project's export settings (``FlywheelPolicy`` in the database)."""

    min_samples: int = 500
    test_share: float = 0.1
    val_share: float = 0.1
    mix_target: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    mix_margin: float = 0.1
    near_duplicate_threshold: float = 0.95

    def __post_init__(self) -> None:
        shares_ok = 0 <= self.test_share <= 0.5 and 0 <= self.val_share <= 0.5
        if not shares_ok or self.test_share + self.val_share >= 0.8:
            raise InvalidInput(BAD_SHARES.format(test=self.test_share, val=self.val_share))
        if not 0 < self.near_duplicate_threshold <= 1:
            raise InvalidInput(BAD_THRESHOLD.format(value=self.near_duplicate_threshold))
        if not 0 <= self.mix_margin <= 1:
            raise InvalidInput(BAD_MARGIN.format(value=self.mix_margin))
        target = self.mix_target
        if not isinstance(target, Mapping) or not all(
            isinstance(v, int | float) and 0 <= v <= 1 for v in target.values()
        ):
            raise InvalidInput(BAD_MIX.format(value=target))

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_samples": self.min_samples,
            "test_share": self.test_share,
            "val_share": self.val_share,
            "mix_target": dict(self.mix_target),
            "mix_margin": self.mix_margin,
            "near_duplicate_threshold": self.near_duplicate_threshold,
        }


@dataclass(frozen=True)
class Predecessor:
    """The previous release of the project: what it held, for the diff and incremental dedup."""

    release_id: str
    created_at: datetime
    items: Mapping[str, Split]  # item_key -> split
    dedup: Mapping[str, Any] = field(default_factory=dict)  # its manifest's {"model_id", "threshold"}


@dataclass(frozen=True)
class ReleaseSpec:
    """Everything a build depends on besides the items: same spec + same items = same bytes."""

    project: str
    number: int
    created_at: datetime
    code_version: str
    query: ReleaseQuery = field(default_factory=ReleaseQuery)
    policy: ExportPolicy = field(default_factory=ExportPolicy)
    predecessor: Predecessor | None = None
    existing_splits: Mapping[str, Split] = field(default_factory=dict)  # group_key -> split, kept forever
    force: bool = False
    agreement: Mapping[str, Any] | None = None  # the service's summary; None: counts from the items

    @property
    def release_id(self) -> str:
        return f"{self.project}-v{self.number}"


def iso(when: datetime | None) -> str | None:
    """UTC, second precision, with a Z: how every time in a release is written."""
    if when is None:
        return None
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))


def parse_time(text: str | None, *, name: str) -> datetime | None:
    """A date (midnight UTC) or an ISO 8601 time (naive: UTC). Empty: None."""
    if not text or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(BAD_TIME.format(name=name, value=text[:40])) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_query(
    *,
    since: str | None = None,
    until: str | None = None,
    clusters: str | None = None,
    sample_types: str | None = None,
    sop_versions: str | None = None,
) -> ReleaseQuery:
    """A query from text, as the command line and the release form take it (comma-separated lists)."""
    try:
        versions = tuple(int(v) for v in _listed(sop_versions))
    except ValueError:
        raise InvalidInput(BAD_VERSIONS.format(value=(sop_versions or "")[:40])) from None
    return ReleaseQuery(
        since=parse_time(since, name="since"),
        until=parse_time(until, name="until"),
        clusters=tuple(c.upper() if c.lower() != UNCLUSTERED else UNCLUSTERED for c in _listed(clusters)),
        sample_types=_listed(sample_types),
        sop_versions=versions,
    )
