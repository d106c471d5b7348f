"""Stored traces. Every text field here was scrubbed before it was written."""

from __future__ import annotations

from django.db import models

from flywheel.models.projects import Project, TraceSource


class Trace(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="traces")
    source = models.ForeignKey(TraceSource, on_delete=models.CASCADE, related_name="traces")
    external_id = models.CharField(max_length=128, help_text="The Langfuse trace id.")
    name = models.CharField(max_length=512, blank=True, default="")
    user_id = models.CharField(max_length=256, blank=True, default="")
    session_id = models.CharField(max_length=256, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    release = models.CharField(max_length=256, blank=True, default="")
    version = models.CharField(max_length=256, blank=True, default="")
    environment = models.CharField(max_length=128, blank=True, default="")
    timestamp = models.DateTimeField(null=True, blank=True, db_index=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    conversation = models.JSONField(default=list, blank=True)
    # Per-trace placeholder map {hmac digest: "<PERSON_1>"}: keeps placeholders stable across
    # re-syncs without storing any raw value.
    placeholder_map = models.JSONField(default=dict, blank=True)
    pii_counts = models.JSONField(default=dict, blank=True, help_text="Own fields' detections per type.")
    scrub_audit = models.JSONField(default=dict, blank=True, help_text="Whole trace: counts + config hash.")
    latency_ms = models.FloatField(null=True, blank=True)
    total_cost = models.FloatField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="trace_unique_per_source"),
        ]
        indexes = [
            # Covering the id: the cluster pages join failures to their traces' times from the
            # index alone, without reading the (large) trace rows. Also the trace list's order.
            models.Index(fields=["project", "-timestamp"], include=["id"], name="trace_project_time_id"),
        ]
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return f"{self.name or 'trace'} {self.external_id}"


class Observation(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="observations")
    external_id = models.CharField(max_length=128)
    parent_external_id = models.CharField(max_length=128, blank=True, default="")
    type = models.CharField(max_length=32, default="SPAN")
    name = models.CharField(max_length=512, blank=True, default="")
    level = models.CharField(max_length=16, default="DEFAULT", db_index=True)
    status_message = models.TextField(blank=True, default="")
    model = models.CharField(max_length=256, blank=True, default="")
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    total_cost = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    pii_counts = models.JSONField(default=dict, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trace", "external_id"], name="observation_unique_per_trace"),
        ]
        ordering = ["start_time", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.name or self.external_id}"


class Score(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="scores")
    external_id = models.CharField(max_length=256)
    observation_external_id = models.CharField(max_length=128, blank=True, default="")
    name = models.CharField(max_length=256, db_index=True)
    value = models.FloatField(null=True, blank=True)
    string_value = models.TextField(blank=True, default="")
    data_type = models.CharField(max_length=16, default="NUMERIC")
    source = models.CharField(max_length=16, default="API")
    comment = models.TextField(blank=True, default="")
    timestamp = models.DateTimeField(null=True, blank=True)
    pii_counts = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trace", "external_id"], name="score_unique_per_trace"),
        ]
        ordering = ["timestamp", "id"]

    def __str__(self) -> str:
        return f"{self.name}={self.value if self.value is not None else self.string_value}"
