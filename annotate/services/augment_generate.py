"""Programmatic data: a generator plug-in's pairs become proposed samples.

See :mod:`annotate.services.augment` for the path every candidate takes.

Each pair is validated by its generator before and (when PII was found) after scrubbing; its
item key is ``gen:<generator>:<hash of the prompt and expected output>``, so the same pair
generated again is "already there". Every row is its own split group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import Any

from annotate.augment.programmatic import Generator, Pair, as_pair, load_generator, params_problems
from annotate.augment.records import DropReason, derived_rng
from annotate.models import SOP, AugmentRun, Sample
from annotate.review.content import content_hash
from annotate.services.augment_build import (
    SopFacts,
    Tally,
    existing_keys,
    finishing,
    insert_rows,
    save_counts,
    scrub_changed,
    variant_scrubber,
)
from annotate.services.augment_dedup import Candidate, Deduper
from flywheel.cluster.embedding import Embedder
from flywheel.errors import ConfigError, FlywheelError, InvalidInput
from flywheel.models import Project
from flywheel.pii.scrubber import Scrubber
from flywheel.rules.checks import schema_validator
from flywheel.services.embedding import default_embedder

GENERATE_BATCH = 200
BAD_COUNT = "count must be a whole number from 1 to 1000000 (got {value})."
BAD_PARAMS = "The generator '{name}' refuses its params: {problems}"
BAD_SCHEMA = "The generator '{name}' declares a JSON Schema that {error}"
GENERATOR_FAILED = "The generator '{name}' raised {error} while {doing}."
GENERATOR_HINT = "Fix the generator (a bug in its code), then re-run: rows stored so far are kept."
Progress = Callable[[int], None]


def generate_run(
    *,
    project: Project,
    generator: Generator | str,
    count: int,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    user: Any = None,
    progress: Progress | None = None,
    scrubber: Scrubber | None = None,
    embedder: Embedder | None = None,
) -> AugmentRun:
    """Draws ``count`` pairs from the generator; valid, new, distinct ones become proposed samples."""
    path = (
        generator
        if isinstance(generator, str)
        else f"{type(generator).__module__}:{type(generator).__name__}"
    )
    plugin = load_generator(generator) if isinstance(generator, str) else generator
    params = dict(params or {})
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1_000_000:
        raise InvalidInput(BAD_COUNT.format(value=count))
    problems = params_problems(plugin, params)
    if problems:
        raise InvalidInput(BAD_PARAMS.format(name=plugin.name, problems="; ".join(problems)))
    if plugin.json_schema is not None:
        try:
            schema_validator(plugin.json_schema)
        except ValueError as error:
            raise ConfigError(BAD_SCHEMA.format(name=plugin.name, error=error)) from None
    sop = SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED).order_by("-version").first()
    run = AugmentRun.objects.create(
        project=project,
        kind=AugmentRun.Kind.GENERATE,
        name=path,
        version=str(plugin.version),
        params={"generator": plugin.name, "params": params, "seed": seed, "count": count},
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    tally = Tally()
    with finishing(run, tally):
        facts = SopFacts().of(sop)
        deduper = Deduper(project=project, embedder=embedder or default_embedder())
        deduper.load()
        scrub = scrubber or variant_scrubber(project)
        pairs = _guarded(plugin, "generating", plugin.generate, params, derived_rng("generate", seed))
        left = count
        while left > 0:
            size = min(left, GENERATE_BATCH)
            chunk = _guarded(plugin, "generating", _take, pairs, size)
            if not chunk:
                break  # the generator is exhausted
            left -= len(chunk)
            rows = _generated_rows(
                project, run, plugin, sop, facts, [as_pair(p) for p in chunk], tally, deduper, scrub
            )
            tally.proposed += insert_rows(run, rows, tally)
            save_counts(run, tally)
            if progress:
                progress(len(chunk))
    return run


def _generated_rows(
    project: Project,
    run: AugmentRun,
    plugin: Generator,
    sop: SOP | None,
    facts: Mapping[str, Any],
    pairs: list[Pair],
    tally: Tally,
    deduper: Deduper,
    scrubber: Scrubber,
) -> list[Sample]:
    tally.attempted += len(pairs)
    system = [{"role": "system", "content": plugin.system_prompt}] if plugin.system_prompt else []
    fresh: dict[str, tuple[Pair, list[dict[str, Any]]]] = {}
    for pair in pairs:
        if _guarded(plugin, "validating", plugin.validate, pair):
            tally.drop(DropReason.INVALID)
            continue
        prompt = [*system, {"role": "user", "content": pair.input}]
        key = f"gen:{plugin.name}:{content_hash(prompt, pair.expected_output)[:16]}"
        if key in fresh:
            tally.drop(DropReason.EXACT_DUPLICATE)
        else:
            fresh[key] = (pair, prompt)
    existing = existing_keys(project, list(fresh))
    tally.already_there += len(existing)
    todo = [(key, pair, prompt) for key, (pair, prompt) in fresh.items() if key not in existing]
    jobs = [(prompt, pair.expected_output, "", system, "", "", None) for _, pair, prompt in todo]
    scrubbed = scrub_changed(scrubber, jobs) if jobs else []
    valid = []
    for (key, pair, _), (prompt, answer, _, found) in zip(todo, scrubbed, strict=True):
        tally.pii_scrubbed += int(found)
        after = Pair(str(prompt[-1]["content"]), answer, pair.case)
        if found and _guarded(plugin, "validating", plugin.validate, after):
            tally.drop(DropReason.INVALID)
            continue
        valid.append((key, pair, prompt, answer))
    verdicts = deduper.judge([Candidate(prompt, answer, key) for key, _, prompt, answer in valid])
    rows = []
    for (key, pair, prompt, answer), verdict in zip(valid, verdicts, strict=True):
        if verdict is not None:
            tally.drop(verdict)
            continue
        values: dict[str, Any] = {
            "verdict": "good",
            "sample_type": "golden",
            "task_type": plugin.task_type,
            "must_refuse": False,
        }
        if facts["answer_field"]:
            values[facts["answer_field"]] = answer
        if facts["names"] is not None:
            values = {k: v for k, v in values.items() if k in facts["names"]}
        lineage = {
            "project": project.name,
            "source": "generator",
            "source_id": key,
            "augment_type": "programmatic",
            "augment_round": run.round,
            "generator": plugin.name,
            "generator_version": str(plugin.version),
            "case": pair.case or None,
            "task_type": plugin.task_type,
            "sample_type": "golden",
            "must_refuse": False,
            "output_format": plugin.output_format,
            "json_schema": plugin.json_schema,
            "sop_version": sop.version if sop else None,
            "augment_run": run.pk,
            "origin": Sample.Origin.PROGRAMMATIC.value,
            "annotator": None,
            "reviewer": None,
            "decision": None,
        }
        rows.append(
            Sample(
                project=project,
                augment_run=run,
                origin=Sample.Origin.PROGRAMMATIC,
                status=Sample.Status.PROPOSED,
                item_key=key,
                group_key=key,
                prompt=prompt,
                answer=answer,
                output_format=plugin.output_format,
                values=values,
                lineage=lineage,
                sop=sop,
                content_hash=content_hash(prompt, answer),
            )
        )
    return rows


def _take(pairs: Iterator[Any], n: int) -> list[Any]:
    return list(islice(pairs, n))


def _guarded(plugin: Generator, doing: str, call: Callable[..., Any], *args: Any) -> Any:
    """Calls the plug-in; its crash is a bad generator (ConfigError), told without its message."""
    try:
        return call(*args)
    except FlywheelError:
        raise
    except Exception as error:
        # Only the exception's type: its message may quote generated (or scrubbed) content.
        message = GENERATOR_FAILED.format(name=plugin.name, error=type(error).__name__, doing=doing)
        raise ConfigError(message, hint=GENERATOR_HINT) from None
