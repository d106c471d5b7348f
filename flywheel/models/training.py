"""Training runs, registered from the run directory `python -m training` writes."""

from __future__ import annotations

from django.db import models

from flywheel.models.projects import Project
from flywheel.models.releases import Release


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="training_runs")
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )
    release_name = models.CharField(max_length=100, help_text="The release id the run manifest names.")
    method = models.CharField(max_length=8)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    run_dir = models.CharField(max_length=1024, unique=True, help_text="Where the artifacts are.")
    config = models.JSONField(default=dict, blank=True, help_text="The resolved config.")
    metrics = models.JSONField(default=dict, blank=True)
    gate = models.JSONField(default=dict, blank=True, help_text="The promotion gate's verdict and reasons.")
    promoted = models.BooleanField(default=False)
    manifest = models.JSONField(default=dict, blank=True, help_text="The run manifest.")
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-registered_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} on {self.release_name} ({self.status})"
