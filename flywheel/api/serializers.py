from __future__ import annotations

from rest_framework import serializers

from flywheel.models import Observation, Project, Score, SyncRun, Trace, TraceSource


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at"]


class TraceSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = TraceSource
        fields = [
            "id",
            "name",
            "kind",
            "base_url",
            "public_key",
            "secret_key_env",
            "environments",
            "tags",
            "window_hours",
            "overlap_minutes",
            "page_limit",
            "watermark",
        ]


class TraceListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trace
        fields = [
            "id",
            "external_id",
            "name",
            "user_id",
            "session_id",
            "tags",
            "environment",
            "timestamp",
            "latency_ms",
            "total_cost",
        ]


class ObservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Observation
        fields = [
            "external_id",
            "parent_external_id",
            "type",
            "name",
            "level",
            "status_message",
            "model",
            "start_time",
            "end_time",
            "input",
            "output",
            "metadata",
            "usage",
            "total_cost",
            "latency_ms",
        ]


class ScoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Score
        fields = [
            "external_id",
            "observation_external_id",
            "name",
            "value",
            "string_value",
            "data_type",
            "source",
            "comment",
            "timestamp",
        ]


class TraceDetailSerializer(serializers.ModelSerializer):
    observations = ObservationSerializer(many=True, read_only=True)
    scores = ScoreSerializer(many=True, read_only=True)

    class Meta:
        model = Trace
        fields = [
            *TraceListSerializer.Meta.fields,
            "release",
            "version",
            "input",
            "output",
            "metadata",
            "conversation",
            "scrub_audit",
            "observations",
            "scores",
        ]


class SyncRunSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "source_name",
            "kind",
            "status",
            "window_start",
            "window_end",
            "watermark",
            "files",
            "read",
            "created",
            "updated",
            "unchanged",
            "quarantined",
            "error",
            "started_at",
            "finished_at",
        ]
