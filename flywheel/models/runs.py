from __future__ import annotations

from django.db import models

from flywheel.models.projects import Project, TraceSource


class SyncRun(models.Model):
    """One run of sync_langfuse or import_traces, with what it read and wrote."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    source = models.ForeignKey(TraceSource, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, default="api")  # "api" | "file"
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    watermark = models.DateTimeField(null=True, blank=True, help_text="Committed up to here.")
    cursor = models.CharField(max_length=512, blank=True, default="", help_text="Where the run is now.")
    files = models.JSONField(default=list, blank=True)
    read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    holder = models.CharField(max_length=256, blank=True, default="", help_text="host:pid of the process.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of a running run."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} sync of {self.source} ({self.status})"


class Quarantine(models.Model):
    """A record that could not be ingested: why, and where. Never its content."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quarantine")
    source = models.ForeignKey(TraceSource, on_delete=models.CASCADE, related_name="quarantine")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="rejects")
    fingerprint = models.CharField(max_length=64, help_text="sha256 of kind, location and reason.")
    record_kind = models.CharField(max_length=16)
    external_id = models.CharField(max_length=256, blank=True, default="")
    trace_external_id = models.CharField(max_length=128, blank=True, default="")
    location = models.CharField(max_length=512)
    reason = models.TextField()
    seen_count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "fingerprint"], name="quarantine_unique"),
        ]
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.record_kind} at {self.location}: {self.reason}"
