"""Pieces of the augmentation service: seeds as the core sees them, keys, PII, the stored rows."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate.augment import synthetic
from annotate.augment.client import ChatClient, ChatConfig
from annotate.augment.records import DropReason, Message, SeedItem
from annotate.models import SOP, AugmentRun, Sample
from annotate.review.content import answer_field
from annotate.services.sops import sop_schema
from flywheel.errors import ConfigError, FlywheelError
from flywheel.models import Project
from flywheel.pii.config import ScrubConfig
from flywheel.pii.pipeline import ScrubDoc
from flywheel.pii.scrubber import PresidioScrubber, Scrubber
from flywheel.services.scrubbing import hash_key, scrub_config_for

NO_ENDPOINT = "The recipe asks for paraphrases, but no paraphrase endpoint is configured."
NO_ENDPOINT_HINT = (
    "Set PARAPHRASE_BASE_URL (an OpenAI-compatible base URL ending in /v1), PARAPHRASE_MODEL and the "
    "key's variable named by PARAPHRASE_API_KEY_ENV; or remove the paraphrase transform."
)
PARAPHRASE_MAX_ATTEMPTS = 3
MAX_KEY = 200  # Sample.item_key's max_length


@dataclass
class Tally:
    """What a run did; stored as ``AugmentRun.counts``."""

    seeds: int = 0
    attempted: int = 0
    proposed: int = 0
    already_there: int = 0
    pii_scrubbed: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: DropReason | str) -> None:
        self.dropped[str(reason)] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "seeds": self.seeds,
            "attempted": self.attempted,
            "proposed": self.proposed,
            "already_there": self.already_there,
            "pii_scrubbed": self.pii_scrubbed,
            "dropped": dict(sorted(self.dropped.items())),
        }


def paraphrase_client() -> ChatClient:
    """The endpoint from settings; ConfigError when it is not configured (paraphrase is off by default)."""
    if not settings.PARAPHRASE_BASE_URL or not settings.PARAPHRASE_MODEL:
        raise ConfigError(NO_ENDPOINT, hint=NO_ENDPOINT_HINT)
    # The setting names the variable that holds the key (like a Langfuse source's secret_key_env),
    # so the key itself is never in settings, a recipe or a run's params.
    key = os.environ.get(settings.PARAPHRASE_API_KEY_ENV, "") if settings.PARAPHRASE_API_KEY_ENV else ""
    return ChatClient(
        ChatConfig(
            base_url=settings.PARAPHRASE_BASE_URL,
            model=settings.PARAPHRASE_MODEL,
            api_key=key,
            timeout=settings.PARAPHRASE_TIMEOUT,
            max_attempts=PARAPHRASE_MAX_ATTEMPTS,
        )
    )


def variant_scrub_config(project: Project) -> ScrubConfig:
    """The project's PII policy, with the synthetic names and places of entity swaps allowed."""
    base = scrub_config_for(project)
    extra = [term for term in synthetic.allow_list() if term not in base.allow_list]
    return dataclasses.replace(base, allow_list=(*base.allow_list, *extra))


def variant_scrubber(project: Project) -> Scrubber:
    return _presidio(variant_scrub_config(project))


@lru_cache(maxsize=8)
def _presidio(config: ScrubConfig) -> Scrubber:
    return PresidioScrubber(config, key=hash_key())


def scrub_changed(
    scrubber: Scrubber,
    jobs: Sequence[tuple[Sequence[Message], str, str, Sequence[Message], str, str, Mapping[str, str] | None]],
) -> list[tuple[list[dict[str, Any]], str, str, bool]]:
    """Scrubs what a transform changed: ``(prompt, answer, rejected, seed prompt, seed answer,
    seed rejected, placeholder map)`` -> ``(prompt, answer, rejected, found_pii)``.

    Unchanged parts are the seed's, scrubbed when it was stored. Changed parts of one variant share
    one registry, started from the seed trace's placeholder map: a name in the input and the
    answer becomes the same placeholder, and the seed's placeholders keep their numbers.
    """
    docs = []
    for prompt, answer, rejected, old_prompt, old_answer, old_rejected, mapping in jobs:
        value: dict[str, Any] = {
            "m": {
                str(i): str(m.get("content") or "")
                for i, m in enumerate(prompt)
                if i >= len(old_prompt) or m.get("content") != old_prompt[i].get("content")
            },
            "a": answer if answer != old_answer else "",
            "r": rejected if rejected != old_rejected else "",
        }
        docs.append(ScrubDoc(value, scrubber.new_registry(mapping)))  # type: ignore[attr-defined]
    results = scrubber.scrub_many(docs)
    out = []
    for (prompt, answer, rejected, *_), result in zip(jobs, results, strict=True):
        changed = result.value["m"]
        new_prompt = [{**m, "content": changed.get(str(i), m.get("content"))} for i, m in enumerate(prompt)]
        out.append(
            (
                new_prompt,
                result.value["a"] or answer,
                result.value["r"] or rejected,
                any(result.counts.values()),
            )
        )
    return out


class SopFacts:
    """What a run needs from the SOPs its seeds followed, parsed once per SOP per run."""

    def __init__(self) -> None:
        self._facts: dict[int, dict[str, Any]] = {}

    def of(self, sop: SOP | None) -> dict[str, Any]:
        if sop is None:
            return {"answer_field": None, "json_schema": None, "names": None}
        if sop.pk not in self._facts:
            schema = sop_schema(sop)
            name = answer_field(schema)
            answer = next((f for f in schema.fields if f.name == name), None)
            json_schema = answer.validators.json_schema if answer is not None else None
            self._facts[sop.pk] = {
                "answer_field": name,
                "json_schema": dict(json_schema) if json_schema is not None else None,
                "names": schema.names,
            }
        return self._facts[sop.pk]

    def seed_item(self, seed: Sample) -> SeedItem:
        return SeedItem(
            key=seed.item_key,
            prompt=tuple(seed.prompt),
            answer=seed.answer,
            rejected_answer=seed.rejected_answer,
            output_format=seed.output_format,
            must_refuse=bool(seed.values.get("must_refuse") or seed.lineage.get("must_refuse")),
            json_schema=self.of(seed.sop)["json_schema"],
        )


def variant_key(seed_key: str, augment_type: str, round_: int, n: int) -> str:
    """``<seed>~<augment_type>-r<round>-<n>``; a seed key too long for the column is shortened by hash."""
    suffix = f"~{augment_type}-r{round_}-{n}"
    if len(seed_key) + len(suffix) <= MAX_KEY:
        return seed_key + suffix
    digest = hashlib.sha256(seed_key.encode()).hexdigest()[:12]
    return f"{seed_key[: MAX_KEY - len(suffix) - 13]}#{digest}{suffix}"


def existing_keys(project: Project, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            Sample.objects.filter(project=project, item_key__in=keys[start : start + 500])
            .exclude(status=Sample.Status.SUPERSEDED)
            .values_list("item_key", flat=True)
        )
    return found


def insert_rows(run: AugmentRun, rows: list[Sample], tally: Tally) -> int:
    """Inserts; a row another run stored meanwhile (same key) is skipped and counted as already there."""
    if not rows:
        return 0
    with transaction.atomic():
        Sample.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.item_key for row in rows]
    stored = Sample.objects.filter(project=run.project, augment_run=run, item_key__in=keys).count()
    tally.already_there += len(rows) - stored
    return stored


def save_counts(run: AugmentRun, tally: Tally) -> None:
    run.counts = tally.as_dict()
    AugmentRun.objects.filter(pk=run.pk).update(counts=run.counts)


class finishing:
    """Marks the run succeeded, or failed with the error's type (never its text) and re-raises."""

    def __init__(self, run: AugmentRun, tally: Tally) -> None:
        self.run, self.tally = run, tally

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        run = self.run
        run.counts, run.finished_at = self.tally.as_dict(), timezone.now()
        if exc is None:
            run.status = AugmentRun.Status.SUCCEEDED
        else:
            run.status = AugmentRun.Status.FAILED
            run.error = exc.message if isinstance(exc, FlywheelError) else type(exc).__name__
        run.save(update_fields=["counts", "finished_at", "status", "error"])


def run_summary(run: AugmentRun) -> str:
    """One paragraph for the command line: what was tried, kept, found there, and dropped by reason."""
    counts = run.counts or {}
    dropped = counts.get("dropped") or {}
    recipe = run.kind == AugmentRun.Kind.AUGMENT
    what = f"recipe {run.name}" if recipe else f"generator {run.name} v{run.version}"
    unit = f"{counts.get('seeds', 0)} seeds, " if recipe else ""
    tried = counts.get("attempted", 0)
    lines = [
        f"run {run.pk} ({what}, round {run.round}) {run.status}: {unit}{tried} candidates; "
        f"{counts.get('proposed', 0)} proposed for review, {counts.get('already_there', 0)} already there, "
        f"{sum(dropped.values())} dropped",
    ]
    if dropped:
        lines.append("  dropped: " + ", ".join(f"{reason} {n}" for reason, n in sorted(dropped.items())))
    if counts.get("pii_scrubbed"):
        lines.append(f"  PII found and scrubbed in {counts['pii_scrubbed']} candidate(s)")
    return "\n".join(lines)
