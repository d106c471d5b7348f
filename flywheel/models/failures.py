"""Flagged failures, their embeddings and duplicate groups, and the clusters they form."""

from __future__ import annotations

import numpy as np
from django.db import models

from flywheel.models.projects import Project
from flywheel.models.traces import Trace


class FailureRule(models.Model):
    """One declarative rule (see flywheel.rules); ``definition`` is the rule's YAML mapping."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="failure_rules")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    definition = models.JSONField(
        help_text='The condition, e.g. {"score": {"name": "user-feedback", "op": "<", "value": 1}}'
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="rule_unique_per_project")]
        ordering = ["project", "position", "name"]

    def __str__(self) -> str:
        return self.name


class Embedding(models.Model):
    """A cached vector, keyed by model and text hash: an unchanged text is never embedded twice.

    Stored as float32 bytes so SQLite and PostgreSQL hold it the same way.
    """

    model_id = models.CharField(max_length=256)
    text_hash = models.CharField(max_length=64)
    dim = models.PositiveIntegerField()
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model_id", "text_hash"], name="embedding_unique")]

    def __str__(self) -> str:
        return f"{self.model_id}:{self.text_hash[:12]}"

    def array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype=np.float32)


class ClusterRun(models.Model):
    class Kind(models.TextChoices):
        FULL = "full"
        INCREMENTAL = "incremental"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cluster_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    manifest = models.JSONField(default=dict, blank=True, help_text="Parameters, versions, counts, timings.")
    summary = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} clustering of {self.project} ({self.status})"


class Cluster(models.Model):
    """A named failure mode. ``number`` is its stable identity within the project (C1, C2, ...)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="clusters")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=256, help_text="From c-TF-IDF keywords; refreshed by each full run.")
    custom_name = models.CharField(max_length=256, blank=True, default="", help_text="A lead's name; kept.")
    keywords = models.JSONField(default=list, blank=True)
    size = models.PositiveIntegerField(default=0, help_text="Representatives (distinct failures).")
    occurrences = models.PositiveIntegerField(default=0, help_text="All failures, duplicates included.")
    centroid = models.BinaryField(null=True, blank=True)
    exemplars = models.JSONField(default=list, blank=True, help_text="Failure ids closest to the centre.")
    rule_counts = models.JSONField(default=dict, blank=True)
    is_new = models.BooleanField(default=True, help_text="Appeared in the latest full run.")
    active = models.BooleanField(default=True, help_text="False once a re-cluster no longer finds it.")
    first_run = models.ForeignKey(ClusterRun, null=True, on_delete=models.SET_NULL, related_name="+")
    last_run = models.ForeignKey(ClusterRun, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="cluster_number_unique")]
        ordering = ["project", "-size", "number"]

    def __str__(self) -> str:
        return f"C{self.number} {self.label}"

    @property
    def label(self) -> str:
        return self.custom_name or self.name

    def centroid_array(self) -> np.ndarray | None:
        return None if self.centroid is None else np.frombuffer(bytes(self.centroid), dtype=np.float32)


class Failure(models.Model):
    """A trace at least one enabled rule flagged, on its way to a cluster and a labeling task."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="failures")
    trace = models.OneToOneField(Trace, on_delete=models.CASCADE, related_name="failure")
    rules = models.JSONField(default=list, help_text="Names of the rules that fired.")
    active = models.BooleanField(default=True, db_index=True, help_text="False when no rule fires any more.")
    first_flagged_at = models.DateTimeField(auto_now_add=True)
    evaluated_at = models.DateTimeField(auto_now=True)
    embed_text = models.TextField(blank=True, default="", help_text="Scrubbed text that was embedded.")
    dedup_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    embedding = models.ForeignKey(Embedding, null=True, blank=True, on_delete=models.SET_NULL)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    group_size = models.PositiveIntegerField(default=1)
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_noise = models.BooleanField(default=False)
    assigned_by = models.CharField(max_length=16, blank=True, default="", help_text="full | incremental")

    class Meta:
        indexes = [
            models.Index(fields=["project", "active", "cluster"], name="failure_project_cluster"),
            # A cluster's members in page order (representatives first, biggest groups first).
            models.Index(
                fields=["project", "cluster", "duplicate_of", "-group_size", "-id"],
                condition=models.Q(active=True),
                name="failure_members",
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"failure of {self.trace.external_id}"
