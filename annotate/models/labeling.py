from __future__ import annotations

from django.conf import settings
from django.db import models

from flywheel.models import Cluster, Failure, Project, Trace


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    LEAD = "lead", "Lead"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.ANNOTATOR: 1, Role.LEAD: 2, Role.ADMIN: 3}


class Membership(models.Model):
    """A user's role in one project. Roles are per project; superusers are admins everywhere."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="membership_unique")]
        ordering = ["project", "user"]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.project}"


class LabelingPolicy(models.Model):
    """How a project hands out work: overlap for agreement, gold rate, lease length."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="labeling_policy")
    annotations_per_task = models.PositiveSmallIntegerField(default=1, help_text="k: annotators per task.")
    overlap_share = models.FloatField(default=0.1, help_text="Share of tasks that get overlap_annotators.")
    overlap_annotators = models.PositiveSmallIntegerField(default=2, help_text="2 or 3, for agreement.")
    gold_rate = models.FloatField(default=0.05, help_text="Chance that the next task is a gold task.")
    lease_minutes = models.PositiveIntegerField(default=20)
    review_sample_rate = models.FloatField(
        default=0.2,
        help_text="Share of single-annotated tasks a lead reviews first (chosen per trace, stable).",
    )

    def __str__(self) -> str:
        return f"labeling policy of {self.project}"


class SOP(models.Model):
    """A version of the project's standard operating procedure. Immutable once published."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sops")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(max_length=200, default="Labeling SOP")
    body = models.TextField(help_text="Markdown with the four required sections.")
    label_schema = models.JSONField(help_text="The fields annotators fill in (see annotate.labeling.schema).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "version"], name="sop_version_unique")]
        ordering = ["project", "-version"]

    def __str__(self) -> str:
        return f"{self.project} SOP v{self.version} ({self.status})"


class Task(models.Model):
    """One item to label: a failure's trace, with what the annotator needs to see."""

    class Kind(models.TextChoices):
        NORMAL = "normal"
        GOLD = "gold"

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"  # enough annotations
        CLOSED = "closed"  # withdrawn by a lead

    class Review(models.TextChoices):
        NONE = "", "Not ready"  # still being labeled
        PENDING = "pending", "Waiting for a lead"
        FINAL = "final", "Final label decided"

    class Bucket(models.IntegerChoices):
        """The review queue's order: disagreements, then the sample of single labels, then the rest."""

        DISAGREEMENT = 0, "Disagreement"
        SAMPLED = 1, "Sampled single label"
        REST = 2, "The rest"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="tasks")
    failure = models.ForeignKey(
        Failure, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NORMAL)
    gold_answer = models.JSONField(
        null=True, blank=True, help_text="Known label of a gold task (never shown)."
    )
    required_annotations = models.PositiveSmallIntegerField(default=1)
    submitted_count = models.PositiveSmallIntegerField(default=0)
    # Live leases. With submitted_count it says whether a slot is free without a GROUP BY over
    # assignments, so next-task stays one indexed query however long the queue is.
    leased_count = models.PositiveSmallIntegerField(default=0)
    priority = models.FloatField(default=0.0, db_index=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # A re-queue (after a new SOP version) starts round 2: earlier annotations are superseded, kept.
    round = models.PositiveSmallIntegerField(default=1)
    review = models.CharField(max_length=8, choices=Review.choices, default=Review.NONE, blank=True)
    review_bucket = models.PositiveSmallIntegerField(choices=Bucket.choices, default=Bucket.REST)
    review_note = models.CharField(
        max_length=300, blank=True, default="", help_text="Why it waits for a lead (e.g. no consensus)."
    )
    model_answer = models.TextField(blank=True, default="", help_text="The answer being judged (scrubbed).")
    output_format = models.CharField(
        max_length=8,
        default="text",
        help_text='"json" when the answer must be JSON (checked while labeling).',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "trace", "kind"], name="task_unique_per_trace")
        ]
        indexes = [
            models.Index(fields=["project", "status", "kind", "-priority", "id"], name="task_queue"),
            models.Index(
                fields=["project", "review", "review_bucket", "-priority", "id"], name="task_review"
            ),
        ]
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.trace.external_id})"


class Assignment(models.Model):
    """One annotator's turn at one task: leased, then submitted, skipped or expired."""

    class Status(models.TextChoices):
        LEASED = "leased"
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        EXPIRED = "expired"
        RETURNED = "returned"  # a lead rejected the submission: back to the annotator, with a comment

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.LEASED)
    round = models.PositiveSmallIntegerField(default=1, help_text="The task's round it belongs to.")
    sop = models.ForeignKey(SOP, on_delete=models.PROTECT, related_name="+", help_text="The version shown.")
    leased_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=500, blank=True, default="")
    return_comment = models.TextField(
        blank=True, default="", help_text="The lead's comment when the submission came back for rework."
    )

    class Meta:
        # An annotator never gets the same task twice in one round.
        constraints = [
            models.UniqueConstraint(fields=["task", "annotator", "round"], name="assignment_once_per_round")
        ]
        indexes = [
            models.Index(fields=["annotator", "status"], name="assignment_by_annotator"),
            models.Index(fields=["status", "lease_expires_at"], name="assignment_leases"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.task_id}: {self.status}"


class Annotation(models.Model):
    """What an annotator submitted, with the SOP version it followed and full lineage.

    Never edited or deleted: a rejected submission stays (status ``rejected``) beside the reworked
    one, and a re-queue marks a round's annotations ``superseded``; that is the history.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        REJECTED = "rejected"  # a lead sent it back; the rework is a new annotation
        SUPERSEDED = "superseded"  # the task was re-queued under a newer SOP

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="annotations")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="annotations")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    round = models.PositiveSmallIntegerField(default=1)
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    sop = models.ForeignKey(SOP, on_delete=models.PROTECT, related_name="annotations")
    values = models.JSONField()
    lineage = models.JSONField(help_text="source, source_id, annotator, sop_version, task_type, ...")
    seconds_spent = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["task", "annotator"], name="annotation_task"),
            models.Index(fields=["status", "created_at"], name="annotation_status_time"),
        ]

    def __str__(self) -> str:
        return f"annotation of task {self.task_id} by {self.annotator}"
