"""Tasks, turns, annotations, final samples and review history of the load database.

Task ``j`` (0-based) is failure ``j``'s trace (trace ``4j``). The oldest tasks are labeled, in this
order: single labels a lead accepted, consensus pairs, single labels waiting for review,
disagreeing pairs waiting for review; the rest are open (one in ten wants two annotators).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from annotate.models import Annotation, Assignment, ReviewAction, Sample, Task
from annotate.services.common import stable_share
from bench.load.copyrows import Table, dumps
from bench.load.fill import ACCEPTED, CONSENSUS, DISAGREEMENT, N_GOLD, PENDING_SINGLE, SOURCE, _bar

JSON_FIX = '{"items": [{"name": "coffee beans", "quantity": 2}]}'
TEXT_FIX = "Your order left our warehouse yesterday; it arrives within two working days."


@dataclass(frozen=True)
class Plan:
    accepted: int
    consensus: int
    pending: int
    disagreement: int

    def state(self, j: int) -> str:
        edges = (
            ("accepted", self.accepted),
            ("consensus", self.consensus),
            ("pending", self.pending),
            ("disagreement", self.disagreement),
        )
        for name, size in edges:
            if j < size:
                return name
            j -= size
        return "open"

    @property
    def labeled(self) -> int:
        return self.accepted + self.consensus + self.pending + self.disagreement


@dataclass(frozen=True)
class Vote:
    task: int  # j
    id: int
    annotator: Any
    values: dict[str, Any]
    at: datetime


def copy_labeling(
    *,
    project: Any,
    sop: Any,
    tasks: int,
    annotators: list[Any],
    leads: list[Any],
    seed: int,
    start: datetime,
    step: timedelta,
    cluster_of: list[int | None],
    now: datetime,
    content: Callable[[int, int], Any],
    templates: dict[str, dict[str, Any]],
    when: Callable[[datetime, timedelta, int], datetime],
) -> dict[str, int]:
    plan = Plan(
        int(tasks * ACCEPTED), int(tasks * CONSENSUS), int(tasks * PENDING_SINGLE), int(tasks * DISAGREEMENT)
    )
    rng = random.Random(seed)
    priorities = [round(rng.random() * 100, 3) for _ in range(tasks + N_GOLD)]
    n_ann = len(annotators)

    def label(j: int, good: bool, fmt: str, answer: str) -> dict[str, Any]:
        values = dict(templates["good" if good else "bad"])
        values["corrected_output"] = answer if good else (JSON_FIX if fmt == "json" else TEXT_FIX)
        return values

    def votes() -> Iterator[Vote]:
        next_id = 1
        for j in range(plan.labeled):
            state = plan.state(j)
            c = content(seed, 4 * j)
            at = min(when(start, step, 4 * j) + timedelta(hours=2), now - timedelta(minutes=5))
            first = label(j, good=j % 5 >= 3, fmt=c.output_format, answer=c.answer)
            pair = [first]
            if state == "consensus":
                pair.append(first)
            elif state == "disagreement":
                pair.append(label(j, good=j % 5 < 3, fmt=c.output_format, answer=c.answer))
            for n, values in enumerate(pair):
                yield Vote(j, next_id, annotators[(j + n) % n_ann], values, at + timedelta(minutes=3 * n))
                next_id += 1

    _copy_tasks(project, tasks, plan, content, seed, cluster_of, priorities, templates, leads[0], now)
    n_votes = _copy_votes(votes, project, sop, now)
    n_samples = _copy_samples(votes, plan, project, sop, content, seed, leads, now)
    return {
        "tasks": tasks,
        "gold_tasks": N_GOLD,
        "annotations": n_votes,
        "samples_final": n_samples,
        "review_pending": plan.pending + plan.disagreement,
    }


def _copy_tasks(project, tasks, plan, content, seed, cluster_of, priorities, templates, lead, now) -> None:  # type: ignore[no-untyped-def]
    table = Table(
        Task,
        [
            "id",
            "project_id",
            "trace_id",
            "failure_id",
            "cluster_id",
            "kind",
            "gold_answer",
            "required_annotations",
            "submitted_count",
            "priority",
            "status",
            "review",
            "review_bucket",
            "review_note",
            "model_answer",
            "output_format",
            "created_by_id",
        ],
        now=now,
    )

    def rows() -> Iterator[tuple]:
        for j in range(tasks + N_GOLD):
            c = content(seed, 4 * j)
            state = "gold" if j >= tasks else plan.state(j)
            required = 2 if state in {"consensus", "disagreement"} or (state == "open" and j % 10 == 0) else 1
            submitted = {"accepted": 1, "pending": 1, "consensus": 2, "disagreement": 2}.get(state, 0)
            review = {
                "accepted": "final",
                "consensus": "final",
                "pending": "pending",
                "disagreement": "pending",
            }
            bucket, note = 2, ""
            if state == "disagreement":
                bucket, note = 0, "No consensus on verdict (good 1, bad 1)."
            elif state == "pending" and stable_share(f"tr-{4 * j:07d}", salt="review") < 0.2:
                bucket = 1
            gold = dumps(templates["good"] | {"corrected_output": c.answer}) if state == "gold" else None
            yield (
                j + 1,
                project.pk,
                4 * j + 1,
                j + 1,
                cluster_of[j],
                "gold" if state == "gold" else "normal",
                gold,
                32767 if state == "gold" else required,
                submitted,
                priorities[j],
                "done" if submitted else "open",
                review.get(state, ""),
                bucket,
                note,
                c.answer,
                c.output_format,
                lead.pk,
            )

    with _bar("tasks", tasks + N_GOLD) as bar:
        table.copy(rows(), progress=bar)


def _lineage(v: Vote, sop: Any, leased: datetime) -> dict[str, Any]:
    return {
        "project": "load",
        "source": SOURCE,
        "source_id": f"tr-{4 * v.task:07d}",
        "observation_id": f"gen-{4 * v.task:07d}",
        "cluster": None,
        "annotator": v.annotator.username,
        "sop_version": sop.version,
        **{k: v.values.get(k) for k in ("task_type", "difficulty", "domain", "sample_type")},
        "augment_type": None,
        "augment_round": None,
        "version": 1,
        "round": 1,
        "leased_at": leased.isoformat(),
        "submitted_at": v.at.isoformat(),
    }


def _copy_votes(votes: Callable[[], Iterator[Vote]], project: Any, sop: Any, now: datetime) -> int:
    turns = Table(
        Assignment,
        ["id", "task_id", "annotator_id", "status", "sop_id", "leased_at", "lease_expires_at", "finished_at"],
        now=now,
    )
    rows = (
        (
            v.id,
            v.task + 1,
            v.annotator.pk,
            "submitted",
            sop.pk,
            v.at - timedelta(seconds=90),
            v.at + timedelta(minutes=18),
            v.at,
        )
        for v in votes()
    )
    with _bar("assignments", sum(1 for _ in votes())) as bar:
        n = turns.copy(rows, progress=bar)
    notes = Table(
        Annotation,
        [
            "id",
            "task_id",
            "assignment_id",
            "annotator_id",
            "sop_id",
            "values",
            "lineage",
            "seconds_spent",
            "created_at",
        ],
        now=now,
    )
    rows = (
        (
            v.id,
            v.task + 1,
            v.id,
            v.annotator.pk,
            sop.pk,
            dumps(v.values),
            dumps(_lineage(v, sop, v.at - timedelta(seconds=90))),
            60.0 + v.id % 120,
            v.at,
        )
        for v in votes()
    )
    with _bar("annotations", n) as bar:
        notes.copy(rows, progress=bar)
    return n


def _copy_samples(votes, plan, project, sop, content, seed, leads, now) -> int:  # type: ignore[no-untyped-def]
    finals: dict[int, list[Vote]] = {}
    for v in votes():
        if v.task >= plan.accepted + plan.consensus:
            break
        finals.setdefault(v.task, []).append(v)
    samples = Table(
        Sample,
        [
            "id",
            "project_id",
            "task_id",
            "trace_id",
            "origin",
            "status",
            "decision",
            "item_key",
            "group_key",
            "prompt",
            "answer",
            "rejected_answer",
            "output_format",
            "values",
            "lineage",
            "sop_id",
            "annotators",
            "reviewer_id",
            "content_hash",
            "decided_at",
        ],
        now=now,
    )
    actions = []

    def rows() -> Iterator[tuple]:
        for n, (j, pair) in enumerate(finals.items(), start=1):
            c = content(seed, 4 * j)
            basis = pair[0]
            accepted = plan.state(j) == "accepted"
            reviewer = leads[j % len(leads)] if accepted else None
            answer = basis.values["corrected_output"]
            prompt = c.messages[:-1]
            key = f"{SOURCE}:tr-{4 * j:07d}"
            lineage = _lineage(basis, sop, basis.at) | {
                "decision": "accepted" if accepted else "consensus",
                "reviewer": reviewer.username if reviewer else None,
                "must_refuse": False,
                "output_format": c.output_format,
            }
            digest = hashlib.sha256(json.dumps([prompt, answer]).encode()).hexdigest()
            decided = basis.at + timedelta(hours=6) if accepted else pair[-1].at
            actions.append((n, j, basis.id, reviewer, accepted, basis.values, min(decided, now)))
            yield (
                n,
                project.pk,
                j + 1,
                4 * j + 1,
                "annotation",
                "final",
                "accepted" if accepted else "consensus",
                key,
                f"trace:{key}",
                dumps(prompt),
                answer,
                "" if basis.values["verdict"] == "good" else c.answer,
                c.output_format,
                dumps(basis.values),
                dumps(lineage),
                sop.pk,
                dumps(sorted({v.annotator.username for v in pair})),
                reviewer.pk if reviewer else None,
                digest,
                min(decided, now),
            )

    with _bar("samples", len(finals)) as bar:
        n = samples.copy(rows(), progress=bar)
    history = Table(
        ReviewAction,
        [
            "id",
            "project_id",
            "task_id",
            "sample_id",
            "annotation_id",
            "actor_id",
            "kind",
            "comment",
            "values",
            "created_at",
        ],
        now=now,
    )
    rows2 = (
        (
            n,
            project.pk,
            j + 1,
            n,
            basis,
            reviewer.pk if reviewer else None,
            "accept" if accepted else "consensus",
            "" if accepted else "verdict: 2 of 2 agree",
            dumps(values),
            at,
        )
        for n, j, basis, reviewer, accepted, values, at in actions
    )
    with _bar("review actions", len(actions)) as bar:
        history.copy(rows2, progress=bar)
    return n
