"""Turning clusters into labeling tasks: how many, which ones (diverse), in what order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.db import transaction

from annotate.models import Task
from annotate.services.queue import policy_for
from flywheel.errors import InvalidInput
from flywheel.ingest.conversation import final_answer
from flywheel.models import Cluster, Failure, Project
from flywheel.selectors.clusters import cluster_list
from flywheel.services.embedding import vectors_of

NO_CLUSTERS = "No active clusters numbered {numbers} in project '{project}'."
GOLD_NEEDS_ANSWER = "A gold task needs its known answer (the label a correct annotator gives)."


def cluster_priorities(project: Project) -> dict[int, float]:
    """Bigger and growing clusters first: occurrences plus three times the weekly growth."""
    priorities = {}
    for c in cluster_list(project=project):
        growth = c.recent - c.previous  # type: ignore[attr-defined]
        priorities[c.pk] = float(c.occurrences + 3 * max(0, growth))
    return priorities


def diverse_sample(vectors: np.ndarray, k: int) -> list[int]:
    """Farthest-point sampling: start at the most central item, then keep adding the item
    least similar to everything chosen so far. vectors: (n, dim) unit rows. Returns indices."""
    n = len(vectors)
    if k >= n:
        return list(range(n))
    centre = vectors.mean(axis=0)
    chosen = [int(np.argmax(vectors @ centre))]
    closest = vectors @ vectors[chosen[0]]
    while len(chosen) < k:
        pick = int(np.argmin(closest))
        chosen.append(pick)
        closest = np.maximum(closest, vectors @ vectors[pick])
    return chosen


def _overlapped(trace_id: str, share: float) -> bool:
    """Deterministic: the same trace is overlapped or not however often tasks are created."""
    digest = hashlib.sha256(trace_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def _output_format(answer: str, rules: Sequence[str]) -> str:
    looks_json = answer.lstrip()[:1] in ("{", "[")
    return "json" if looks_json or any("json" in r for r in rules) else "text"


def _new_task(project: Project, failure: Failure, priority: float, user: Any) -> Task:
    policy = policy_for(project)
    overlap = _overlapped(failure.trace.external_id, policy.overlap_share)
    answer = final_answer(failure.trace.conversation) or ""  # type: ignore[arg-type]
    return Task(
        project=project,
        trace=failure.trace,
        failure=failure,
        cluster=failure.cluster,
        model_answer=answer,
        output_format=_output_format(answer, failure.rules),
        required_annotations=policy.overlap_annotators if overlap else policy.annotations_per_task,
        priority=priority,
        created_by=user,
    )


def _candidates(project: Project) -> Any:
    return (
        Failure.objects.filter(project=project, active=True, duplicate_of=None, tasks=None)
        .select_related("trace", "cluster", "embedding")
        .order_by("pk")
    )


@transaction.atomic
def tasks_create(
    *, project: Project, user: Any, clusters: Iterable[int] = (), per_cluster: int = 20, all_new: bool = False
) -> int:
    """Creates tasks for distinct failures that have none yet; returns how many.

    ``all_new``: every new representative (noise included). Otherwise ``per_cluster`` diverse
    representatives from each chosen cluster (by number). Re-running never duplicates a task.
    """
    priorities = cluster_priorities(project)
    if all_new:
        picked = list(_candidates(project))
    else:
        numbers = sorted(set(clusters))
        chosen = list(Cluster.objects.filter(project=project, active=True, number__in=numbers))
        if len(chosen) != len(numbers):
            missing = sorted(set(numbers) - {c.number for c in chosen})
            raise InvalidInput(
                NO_CLUSTERS.format(numbers=", ".join(f"C{n}" for n in missing), project=project.name)
            )
        picked = []
        for cluster in chosen:
            pool = list(_candidates(project).filter(cluster=cluster, embedding__isnull=False))
            if pool:
                picked += [pool[i] for i in diverse_sample(vectors_of(pool), per_cluster)]
    tasks = [_new_task(project, f, priorities.get(f.cluster_id or 0, 0.0), user) for f in picked]
    Task.objects.bulk_create(tasks, ignore_conflicts=True)
    return len(tasks)


def task_make_gold(*, task: Task, answer: dict[str, Any]) -> Task:
    """Turns a task into a gold task with a known answer; annotators are not told."""
    if not answer:
        raise InvalidInput(GOLD_NEEDS_ANSWER)
    task.kind, task.gold_answer = Task.Kind.GOLD, answer
    task.required_annotations = 32767  # never "full": gold tasks are re-served to every annotator once
    task.save(update_fields=["kind", "gold_answer", "required_annotations"])
    return task
