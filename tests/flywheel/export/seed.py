"""Final samples in the database, as the review service and the augmenters leave them.

Built from :func:`tests.flywheel.export.items.make_item`, so the database tests meet the same
variety as the core's: text corrections, JSON extractions under an SOP with a schema, refusals,
multi-turn and tool conversations, seeds with variants, generated rows. Also used by the kill
test through ``manage.py shell``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any, cast

from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN
from annotate.models import SOP, Role, Sample
from annotate.services.sops import sop_bootstrap, sop_publish, sop_save_draft
from flywheel.export import ExportItem
from flywheel.models import FlywheelPolicy, Project
from tests.flywheel.export.items import ORDER_SCHEMA, make_item

JSON_SCHEMA_YAML = DEFAULT_SCHEMA_YAML.replace(
    "      max_length: 20000\n",
    "      max_length: 20000\n      json_schema: " + json.dumps(ORDER_SCHEMA) + "\n",
)


def export_project(name: str = "acme", *, min_samples: int = 40) -> tuple[Project, Any]:
    """A project with SOP v1 (text answers) and v2 (JSON answers with the order schema), and a lead."""
    from tests.factories import ProjectFactory, member

    project = cast(Project, ProjectFactory(name=name))
    lead = member(project, Role.LEAD, username=f"{name}-lead")
    sop_bootstrap(project=project, user=lead)
    draft = sop_save_draft(
        project=project, body=DEFAULT_SOP_MARKDOWN, label_schema=JSON_SCHEMA_YAML, user=lead
    )
    sop_publish(sop=draft)
    FlywheelPolicy.objects.create(project=project, min_release_samples=min_samples)
    return project, lead


def sample_from_item(project: Project, item: ExportItem, *, seeds: dict[str, Sample] | None = None) -> Sample:
    sops = {s.version: s for s in SOP.objects.filter(project=project)}
    programmatic = item.origin == Sample.Origin.PROGRAMMATIC
    sop = None if programmatic else sops[2 if item.output_format == "json" else 1]
    lineage: dict[str, Any] = {
        "project": project.name,
        "source": item.source,
        "source_id": item.source_id,
        "cluster": item.cluster,
        "annotator": item.annotator,
        "reviewer": item.reviewer,
        "sop_version": sop.version if sop else None,
        "task_type": item.task_type,
        "difficulty": item.difficulty,
        "domain": item.domain,
        "sample_type": item.sample_type,
        "must_refuse": item.must_refuse,
        "augment_type": item.augment_type,
        "augment_round": item.augment_round,
        "decision": item.decision,
        "output_format": item.output_format,
    }
    if programmatic:
        lineage["json_schema"] = dict(item.json_schema) if item.json_schema else None
        lineage["generator"] = "orders"
    values = {
        "verdict": "bad" if item.rejected_answer else "good",
        "corrected_output": item.answer,
        "must_refuse": item.must_refuse,
        "sample_type": item.sample_type,
        "task_type": item.task_type,
        "difficulty": item.difficulty,
        "domain": item.domain,
    }
    body = json.dumps([list(item.prompt), item.answer], sort_keys=True)
    return Sample.objects.create(
        project=project,
        origin=item.origin,
        status=Sample.Status.FINAL,
        decision=item.decision or Sample.Decision.CONSENSUS,
        item_key=item.item_key,
        group_key=item.group_key,
        prompt=list(item.prompt),
        answer=item.answer,
        rejected_answer=item.rejected_answer,
        output_format=item.output_format,
        values=values,
        lineage=lineage,
        sop=sop,
        annotators=list(item.annotators),
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        seed=(seeds or {}).get(item.seed_key or ""),
        decided_at=item.decided_at,
    )


def seed_samples(project: Project | str, n: int, *, start: int = 0, scrub: bool = False) -> list[Sample]:
    """Final samples for item numbers ``start .. start+n`` (a seed group adds two variants).

    ``scrub``: pass every text through the project's real scrubber first, as ingest does with
    traces (the synthetic wording has words Presidio reads as names).
    """
    if isinstance(project, str):
        project = Project.objects.get(name=project)
    items = [item for i in range(start, start + n) for item in make_item(i)]
    if scrub:
        items = _scrubbed(project, items)
    samples: list[Sample] = []
    seeds: dict[str, Sample] = {}
    for item in items:
        sample = sample_from_item(project, item, seeds=seeds)
        seeds[item.item_key] = sample
        samples.append(sample)
    return samples


def _scrubbed(project: Project, items: list[ExportItem]) -> list[ExportItem]:
    from flywheel.pii import PlaceholderRegistry, ScrubDoc
    from flywheel.services.scrubbing import hash_key, scrubber_for

    scrubber = scrubber_for(project)
    docs = [
        ScrubDoc(
            {"prompt": list(i.prompt), "answer": i.answer, "rejected": i.rejected_answer},
            PlaceholderRegistry(hash_key()),  # one per item, as ingest keeps one per trace
        )
        for i in items
    ]
    return [
        replace(
            item,
            prompt=tuple(r.value["prompt"]),
            answer=r.value["answer"],
            rejected_answer=r.value["rejected"],
        )
        for item, r in zip(items, scrubber.scrub_many(docs), strict=True)
    ]
