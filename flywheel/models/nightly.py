"""The nightly job's runs, and the scores it wrote back to Langfuse."""

from __future__ import annotations

from django.db import models

from flywheel.models.projects import Project, TraceSource
from flywheel.models.traces import Trace


class NightlyRun(models.Model):
    """One nightly run of a project: each step's start, end, counts and error.

    ``steps`` maps a step name to ``{"status", "started_at", "finished_at", "counts", "error"}``.
    A run that crashed or failed is resumed by the next invocation from its first unfinished step.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="nightly_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    dry_run = models.BooleanField(default=False)
    steps = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    summary_text = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=1)
    holder = models.CharField(max_length=256, blank=True, default="", help_text="host:pid of the process.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"nightly of {self.project} ({self.status})"


class ScoreWrite(models.Model):
    """A score written to Langfuse. The id is deterministic, so a re-run upserts instead of duplicating."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="score_writes")
    source = models.ForeignKey(TraceSource, on_delete=models.CASCADE, related_name="score_writes")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="score_writes")
    score_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    payload_sha256 = models.CharField(
        max_length=64, help_text="What was sent; unchanged scores are not re-sent."
    )
    written_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "score_id"], name="score_write_unique")]

    def __str__(self) -> str:
        return f"{self.name} on {self.trace_id}"
