"""Reads for the review pages and API: the queue, one item side by side, its history, outdated items."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from annotate.labeling.model import LabelSchema
from annotate.models import SOP, Annotation, Assignment, ReviewAction, Sample, Task
from annotate.review import (
    DiffLine,
    FieldComparison,
    LabelConsensus,
    answer_field,
    compare_votes,
    label_consensus,
    line_diff,
)
from annotate.services.review import active_annotations, newest_sop, outdated_tasks
from annotate.services.sops import sop_current, sop_schema
from flywheel.errors import NotFound
from flywheel.models import Project

NO_TASK = "No task {task} in project '{project}'."
BUCKETS = tuple(Task.Bucket)


@dataclass(frozen=True)
class QueueFilters:
    """What a lead narrowed the queue to. ``cluster`` 0 means unclustered items."""

    bucket: int | None = None
    cluster: int | None = None
    sop_version: int | None = None

    @classmethod
    def from_query(cls, data: Mapping[str, Any]) -> QueueFilters:
        """From a query string or a JSON body; a value that is not a whole number is no filter."""
        bucket = _whole(data.get("bucket"))
        return cls(
            bucket=bucket if bucket in {b.value for b in BUCKETS} else None,
            cluster=_whole(data.get("cluster")),
            sop_version=_whole(data.get("sop")),
        )

    def without_bucket(self) -> QueueFilters:
        return QueueFilters(cluster=self.cluster, sop_version=self.sop_version)

    def as_query(self) -> dict[str, int]:
        pairs = {"bucket": self.bucket, "cluster": self.cluster, "sop": self.sop_version}
        return {key: value for key, value in pairs.items() if value is not None}


def _whole(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


def _active_this_round() -> QuerySet[Annotation]:
    return Annotation.objects.filter(
        task=OuterRef("pk"), round=OuterRef("round"), status=Annotation.Status.ACTIVE
    )


def review_queue(*, project: Project, filters: QueueFilters = QueueFilters()) -> QuerySet[Task]:
    """Pending tasks in review order: disagreements, the sampled single labels, the rest; within
    a bucket higher priority first, then the oldest."""
    tasks = Task.objects.filter(project=project, review=Task.Review.PENDING)
    if filters.bucket is not None:
        tasks = tasks.filter(review_bucket=filters.bucket)
    if filters.cluster == 0:
        tasks = tasks.filter(cluster__isnull=True)
    elif filters.cluster is not None:
        tasks = tasks.filter(cluster__number=filters.cluster)
    if filters.sop_version is not None:
        tasks = tasks.filter(Exists(_active_this_round().filter(sop__version=filters.sop_version)))
    return tasks.select_related("trace", "cluster").order_by("review_bucket", "-priority", "id")


def review_counts(*, project: Project, filters: QueueFilters = QueueFilters()) -> dict[int, int]:
    """Pending tasks per bucket under the filters (the bucket filter aside); every bucket is present."""
    rows = (
        review_queue(project=project, filters=filters.without_bucket())
        .order_by()
        .values("review_bucket")
        .annotate(n=Count("pk"))
    )
    counts = {b.value: 0 for b in BUCKETS}
    counts.update({row["review_bucket"]: row["n"] for row in rows})
    return counts


def next_in_queue(
    *, project: Project, filters: QueueFilters = QueueFilters(), after: Task | None = None
) -> Task | None:
    """The pending task after ``after`` in queue order, wrapping round to the first; never ``after``."""
    queue = review_queue(project=project, filters=filters)
    if after is None:
        return queue.first()
    later = (
        Q(review_bucket__gt=after.review_bucket)
        | Q(review_bucket=after.review_bucket, priority__lt=after.priority)
        | Q(review_bucket=after.review_bucket, priority=after.priority, pk__gt=after.pk)
    )
    return queue.filter(later).first() or queue.exclude(pk=after.pk).first()


@dataclass(frozen=True)
class QueueRow:
    """One pending task as the queue lists it."""

    task: Task
    annotators: tuple[str, ...]
    sop_versions: tuple[int, ...]

    @property
    def question(self) -> str:
        """The first user turn: what the item is about, at a glance."""
        turns = self.task.trace.conversation or []
        return next((str(m.get("content") or "") for m in turns if m.get("role") == "user"), "")


def queue_rows(tasks: Iterable[Task]) -> list[QueueRow]:
    """The page's tasks with who labeled them under which SOP: one query for the whole page."""
    tasks = list(tasks)
    votes = (
        Annotation.objects.filter(task__in=tasks, round=F("task__round"), status=Annotation.Status.ACTIVE)
        .order_by("created_at", "pk")
        .values_list("task_id", "annotator__username", "sop__version")
    )
    who: dict[int, list[str]] = defaultdict(list)
    versions: dict[int, set[int]] = defaultdict(set)
    for task_id, username, version in votes:
        who[task_id].append(username)
        versions[task_id].add(version)
    return [QueueRow(t, tuple(who[t.pk]), tuple(sorted(versions[t.pk]))) for t in tasks]


def queue_sop_versions(*, project: Project) -> list[int]:
    """The SOP versions pending items were labeled under (for the filter)."""
    versions = (
        Annotation.objects.filter(
            task__project=project,
            task__review=Task.Review.PENDING,
            round=F("task__round"),
            status=Annotation.Status.ACTIVE,
        )
        .order_by("sop__version")
        .values_list("sop__version", flat=True)
        .distinct()
    )
    return list(versions)


@dataclass(frozen=True)
class HistoryEntry:
    """One event of an item's life: an annotation (any round or status) or a review decision."""

    at: datetime
    kind: str  # "annotation" or a ReviewAction kind
    who: str  # a username, or "" for the service (the consensus rule)
    round: int | None
    comment: str
    values: dict[str, Any] | None
    annotation_id: int | None
    status: str = ""  # an annotation's status: active, rejected, superseded
    sop_version: int | None = None


def item_history(task: Task) -> list[HistoryEntry]:
    """Every annotation (rejected and superseded ones too) and every review action, oldest first."""
    entries = [
        HistoryEntry(
            at=a.created_at,
            kind="annotation",
            who=a.annotator.get_username(),
            round=a.round,
            comment="",
            values=a.values,
            annotation_id=a.pk,
            status=a.status,
            sop_version=a.sop.version,
        )
        for a in Annotation.objects.filter(task=task).select_related("annotator", "sop")
    ]
    entries += [
        HistoryEntry(
            at=r.created_at,
            kind=r.kind,
            who=r.actor.get_username() if r.actor else "",
            round=None,
            comment=r.comment,
            values=r.values,
            annotation_id=r.annotation_id,
        )
        for r in ReviewAction.objects.filter(task=task).select_related("actor")
    ]
    return sorted(entries, key=lambda e: (e.at, e.kind != "annotation"))


@dataclass(frozen=True)
class Vote:
    """One active annotation of the item, a column of the side-by-side table."""

    annotation: Annotation
    answer_diff: list[DiffLine]  # its corrected answer against the model's answer; [] = unchanged


@dataclass(frozen=True)
class ReviewItem:
    task: Task
    sop: SOP  # the newest version the votes followed: a lead's fix is validated against it
    schema: LabelSchema
    votes: list[Vote]
    rows: list[FieldComparison]
    consensus: LabelConsensus | None  # None with fewer than two votes
    returned: list[Assignment]  # annotations sent back, waiting for the rework
    sample: Sample | None  # the final label, once decided
    history: list[HistoryEntry]

    @property
    def pending(self) -> bool:
        return self.task.review == Task.Review.PENDING

    @property
    def differing(self) -> list[str]:
        return [row.name for row in self.rows if row.differs]


def review_item(*, project: Project, task_id: int) -> ReviewItem:
    """An item with every active annotation side by side, whatever its review state."""
    task = (
        Task.objects.select_related("trace__source", "cluster", "project")
        .filter(pk=task_id, project=project)
        .first()
    )
    if task is None:
        raise NotFound(NO_TASK.format(task=task_id, project=project.name))
    annotations = list(active_annotations(task))
    sop = newest_sop(annotations) if annotations else sop_current(project)
    schema = sop_schema(sop)
    answer = answer_field(schema)
    votes = [
        Vote(a, line_diff(task.model_answer, str(a.values.get(answer) or "")) if answer else [])
        for a in annotations
    ]
    values = [a.values for a in annotations]
    returned = list(
        Assignment.objects.filter(task=task, round=task.round, status__in=_WAITING_FOR_REWORK)
        .exclude(return_comment="")
        .select_related("annotator")
    )
    return ReviewItem(
        task=task,
        sop=sop,
        schema=schema,
        votes=votes,
        rows=compare_votes(schema, values),
        consensus=label_consensus(schema, values) if len(values) >= 2 else None,
        returned=returned,
        sample=Sample.objects.filter(task=task, round=task.round).exclude(status="superseded").first(),
        history=item_history(task),
    )


_WAITING_FOR_REWORK = (Assignment.Status.RETURNED, Assignment.Status.LEASED)


def queue_position(*, project: Project, filters: QueueFilters, task: Task) -> tuple[int, int]:
    """(1-based position of the task in the filtered queue, queue length); position 0 = not in it."""
    queue = review_queue(project=project, filters=filters)
    total = queue.count()
    if task.review != Task.Review.PENDING:
        return 0, total
    before = queue.filter(
        Q(review_bucket__lt=task.review_bucket)
        | Q(review_bucket=task.review_bucket, priority__gt=task.priority)
        | Q(review_bucket=task.review_bucket, priority=task.priority, pk__lt=task.pk)
    ).count()
    return before + 1, total


@dataclass(frozen=True)
class OutdatedRow:
    task: Task
    sop_versions: tuple[int, ...]
    annotators: tuple[str, ...]


def outdated_items(*, project: Project) -> QuerySet[Task]:
    """Labeled tasks (pending or final) whose active annotations followed an older SOP."""
    return outdated_tasks(project).select_related("trace", "cluster")


def outdated_rows(tasks: Iterable[Task]) -> list[OutdatedRow]:
    return [OutdatedRow(r.task, r.sop_versions, r.annotators) for r in queue_rows(tasks)]


def sample_list(
    *, project: Project, status: str | None = None, origin: str | None = None
) -> QuerySet[Sample]:
    samples = Sample.objects.filter(project=project).select_related("sop", "reviewer", "task")
    if status:
        samples = samples.filter(status=status)
    if origin:
        samples = samples.filter(origin=origin)
    return samples.order_by("-id")
