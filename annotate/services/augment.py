"""Growing the reviewed set: seed variants (a recipe over final samples) and programmatic rows.

Both end as ``proposed`` samples, never in a release directly: a lead previews a sample of a
run's rows beside their seeds, accepts or discards them, and accepts the rest in bulk
(:mod:`annotate.services.augment_review`). Every candidate goes through the same steps::

    transform / generate -> answer contract (or validator) -> PII scrub of what changed
        -> contract again -> exact + near-duplicate check -> stored as proposed

Each dropped candidate is counted by reason on ``AugmentRun.counts``; a drop never fails the
run. Item keys are deterministic (``<seed>~<augment_type>-r<round>-<n>``; generated rows
``gen:<generator>:<content hash>``), so a re-run on the same seeds and round finds its rows
"already there" and neither re-creates them nor calls a paraphrase endpoint for them.
Seeds are processed in batches; counts are saved after each batch, so a crash keeps what
was stored and a re-run continues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from annotate.augment.base import Transform
from annotate.augment.client import ChatClient
from annotate.augment.contract import check_contract, json_contract
from annotate.augment.recipe import Entry, Recipe, Selection
from annotate.augment.records import DropReason, SeedItem, Variant, derived_rng
from annotate.models import AugmentRun, Sample
from annotate.review.content import content_hash
from annotate.services.augment_build import (
    SopFacts,
    Tally,
    existing_keys,
    finishing,
    insert_rows,
    paraphrase_client,
    save_counts,
    scrub_changed,
    variant_key,
    variant_scrubber,
)
from annotate.services.augment_dedup import Candidate, Deduper
from annotate.services.augment_generate import generate_run
from annotate.services.augment_review import (
    BULK_MIN_REVIEWED,
    proposed_accept,
    proposed_bulk_accept,
    proposed_discard,
    proposed_preview,
)
from flywheel.cluster.embedding import Embedder
from flywheel.errors import InvalidInput, NotFound
from flywheel.models import Project
from flywheel.pii.scrubber import Scrubber
from flywheel.services.embedding import default_embedder

__all__ = [
    "BULK_MIN_REVIEWED",
    "augment_run",
    "generate_run",
    "proposed_accept",
    "proposed_bulk_accept",
    "proposed_discard",
    "proposed_preview",
    "seeds_select",
]

SEED_BATCH = 50
TOO_MANY_SEEDS = "This recipe selects {n} seeds; here at most {limit} run at once."
TOO_MANY_SEEDS_HINT = (
    "Narrow select (or set select.limit), or run it from the command line: "
    "python manage.py augment --project {project} --recipe FILE.yaml"
)
NO_SEEDS = "The recipe selects no final sample of project '{project}'."
NO_SEEDS_HINT = "Check select (clusters, task_types, sample_types, origins): seeds must be final samples."
BAD_ROUND = "round must be a whole number from 1 to 1000 (got {value})."
Progress = Callable[[int], None]


def seeds_select(*, project: Project, selection: Selection) -> QuerySet[Sample]:
    """Final samples the selection names, oldest first."""
    seeds = Sample.objects.filter(project=project, status=Sample.Status.FINAL, origin__in=selection.origins)
    if selection.clusters:
        seeds = seeds.filter(lineage__cluster__in=[f"C{n}" for n in selection.clusters])
    if selection.task_types:
        seeds = seeds.filter(lineage__task_type__in=list(selection.task_types))
    if selection.sample_types:
        seeds = seeds.filter(Q(lineage__sample_type__in=list(selection.sample_types)))
    return seeds.order_by("pk")


def augment_run(
    *,
    project: Project,
    recipe: Recipe,
    round: int = 1,
    user: Any = None,
    progress: Progress | None = None,
    scrubber: Scrubber | None = None,
    embedder: Embedder | None = None,
    chat: ChatClient | None = None,
    max_seeds: int | None = None,
    max_new_embeddings: int | None = None,
) -> AugmentRun:
    """Runs ``recipe`` over its seeds.

    ``max_seeds`` and ``max_new_embeddings`` are the web page's bounds: bigger selections, and a
    reviewed set whose vectors are not cached yet, are refused with a pointer to the command.
    """
    if isinstance(round, bool) or not isinstance(round, int) or not 1 <= round <= 1000:
        raise InvalidInput(BAD_ROUND.format(value=round))
    owned = paraphrase_client() if recipe.uses_paraphrase and chat is None else None
    try:
        return _augment_run(
            project,
            recipe,
            round,
            user,
            progress,
            scrubber,
            embedder,
            chat or owned,
            max_seeds,
            max_new_embeddings,
        )
    finally:
        if owned is not None:
            owned.close()


def _augment_run(
    project: Project,
    recipe: Recipe,
    round: int,
    user: Any,
    progress: Progress | None,
    scrubber: Scrubber | None,
    embedder: Embedder | None,
    chat: ChatClient | None,
    max_seeds: int | None,
    max_new_embeddings: int | None,
) -> AugmentRun:
    ids = list(seeds_select(project=project, selection=recipe.select).values_list("pk", flat=True))
    ids = ids[: recipe.select.limit] if recipe.select.limit else ids
    if not ids:
        raise NotFound(NO_SEEDS.format(project=project.name), hint=NO_SEEDS_HINT)
    if max_seeds is not None and len(ids) > max_seeds:
        hint = TOO_MANY_SEEDS_HINT.format(project=project.name)
        raise InvalidInput(TOO_MANY_SEEDS.format(n=len(ids), limit=max_seeds), hint=hint)
    deduper = Deduper(project=project, embedder=embedder or default_embedder())
    deduper.load(max_new=max_new_embeddings)
    run = AugmentRun.objects.create(
        project=project,
        kind=AugmentRun.Kind.AUGMENT,
        name=recipe.name,
        round=round,
        params={"recipe": recipe.to_dict(), "seeds": len(ids)},
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    tally = Tally()
    with finishing(run, tally):
        work = _Augment(project, recipe, round, run, tally, recipe.build(chat=chat), SopFacts())
        work.deduper = deduper
        work.scrubber = scrubber or variant_scrubber(project)
        for start in range(0, len(ids), SEED_BATCH):
            chunk = ids[start : start + SEED_BATCH]
            seeds = list(Sample.objects.filter(pk__in=chunk).select_related("trace", "sop").order_by("pk"))
            work.batch(seeds)
            save_counts(run, tally)
            if progress:
                progress(len(chunk))
    return run


@dataclass
class _Pending:
    seed: Sample
    item: SeedItem
    key: str
    entry: Entry
    transform: Transform
    variant: Variant


class _Augment:
    deduper: Deduper
    scrubber: Scrubber

    def __init__(
        self,
        project: Project,
        recipe: Recipe,
        round_: int,
        run: AugmentRun,
        tally: Tally,
        transforms: list[Transform],
        facts: SopFacts,
    ) -> None:
        self.project, self.recipe, self.round, self.run = project, recipe, round_, run
        self.tally, self.transforms, self.facts = tally, transforms, facts

    def batch(self, seeds: list[Sample]) -> None:
        planned = [(seed, entry_no, copy, key) for seed in seeds for entry_no, copy, key in self._keys(seed)]
        existing = existing_keys(self.project, [key for *_, key in planned])
        pending: list[_Pending] = []
        items = {seed.pk: self.facts.seed_item(seed) for seed in seeds}
        self.tally.seeds += len(seeds)
        for seed, entry_no, copy, key in planned:
            self.tally.attempted += 1
            if key in existing:
                self.tally.already_there += 1
                continue
            item, transform = items[seed.pk], self.transforms[entry_no]
            rng = derived_rng(self.recipe.seed, seed.item_key, self.round, entry_no, copy)
            outcome = transform.apply(item, rng)
            problem = outcome if not isinstance(outcome, Variant) else check_contract(item, outcome)
            if problem is not None:
                self.tally.drop(problem.reason)
                continue
            assert isinstance(outcome, Variant)
            pending.append(_Pending(seed, item, key, self.recipe.variants[entry_no], transform, outcome))
        self._store(pending)

    def _keys(self, seed: Sample) -> Iterator[tuple[int, int, str]]:
        numbers: dict[str, int] = {}
        for entry_no, entry in enumerate(self.recipe.variants):
            for copy in range(entry.count):
                n = numbers[entry.augment_type] = numbers.get(entry.augment_type, 0) + 1
                yield entry_no, copy, variant_key(seed.item_key, entry.augment_type, self.round, n)

    def _store(self, pending: list[_Pending]) -> None:
        if not pending:
            return
        jobs = [
            (
                p.variant.prompt,
                p.variant.answer,
                p.variant.rejected_answer,
                p.item.prompt,
                p.item.answer,
                p.item.rejected_answer,
                p.seed.trace.placeholder_map if p.seed.trace else None,
            )
            for p in pending
        ]
        scrubbed = scrub_changed(self.scrubber, jobs)
        kept: list[tuple[_Pending, list[dict[str, Any]], str, str]] = []
        for p, (prompt, answer, rejected, found) in zip(pending, scrubbed, strict=True):
            self.tally.pii_scrubbed += int(found)
            json_task = p.item.output_format == "json" and not p.item.must_refuse
            if found and json_task and json_contract(p.item.answer, answer, p.item.json_schema):
                self.tally.drop(DropReason.CONTRACT_JSON)
                continue
            kept.append((p, prompt, answer, rejected))
        verdicts = self.deduper.judge([Candidate(pr, a, p.seed.group_key) for p, pr, a, _ in kept])
        rows = []
        for (p, prompt, answer, rejected), verdict in zip(kept, verdicts, strict=True):
            if verdict is not None:
                self.tally.drop(verdict)
            else:
                rows.append(self._sample(p, prompt, answer, rejected))
        self.tally.proposed += insert_rows(self.run, rows, self.tally)

    def _sample(self, p: _Pending, prompt: list[dict[str, Any]], answer: str, rejected: str) -> Sample:
        seed = p.seed
        name = self.facts.of(seed.sop)["answer_field"]
        values = {**seed.values, name: answer} if name else dict(seed.values)
        lineage = {
            **seed.lineage,
            "augment_type": p.entry.augment_type,
            "augment_round": self.round,
            "source_id": seed.lineage.get("source_id"),
            "seed_item": seed.item_key,
            "recipe": self.recipe.name,
            "params": {"settings": dict(p.transform.settings), "chosen": dict(p.variant.params)},
            "augment_run": self.run.pk,
            "origin": Sample.Origin.VARIANT.value,
            "reviewer": None,
            "decision": None,
        }
        return Sample(
            project=self.project,
            round=seed.round,
            trace=seed.trace,
            seed=seed,
            augment_run=self.run,
            origin=Sample.Origin.VARIANT,
            status=Sample.Status.PROPOSED,
            item_key=p.key,
            group_key=seed.group_key,
            prompt=prompt,
            answer=answer,
            rejected_answer=rejected,
            output_format=seed.output_format,
            values=values,
            lineage=lineage,
            sop=seed.sop,
            annotators=list(seed.annotators),
            content_hash=content_hash(prompt, answer),
        )
