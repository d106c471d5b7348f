from __future__ import annotations

from typing import Any

from rest_framework import serializers

from flywheel.models import (
    Cluster,
    Failure,
    FailureRule,
    Observation,
    Project,
    Score,
    SyncRun,
    Trace,
    TraceSource,
)
from flywheel.rules import InvalidRules, load_rules
from flywheel.services.rules import rule_data


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


class FailureRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = FailureRule
        fields = ["id", "name", "description", "definition", "enabled", "position", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        project = self.context["project"]
        current = self.instance
        name = attrs.get("name", current.name if current else "")
        definition = attrs.get("definition", current.definition if current else None)
        if not isinstance(definition, dict):
            raise serializers.ValidationError({"definition": 'Give a mapping, e.g. {"tag": "escalated"}.'})
        others = [rule_data(r) for r in project.failure_rules.exclude(pk=current.pk if current else None)]
        try:
            load_rules({"rules": [*others, {"name": name, **definition}]})
        except InvalidRules as exc:
            raise serializers.ValidationError({"definition": list(exc.problems)}) from None
        return attrs


class ClusterSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(source="label", read_only=True, help_text="custom_name or name")

    class Meta:
        model = Cluster
        fields = [
            "number",
            "display_name",
            "name",
            "custom_name",
            "keywords",
            "size",
            "occurrences",
            "exemplars",
            "rule_counts",
            "is_new",
            "active",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f != "custom_name"]


class FailureSerializer(serializers.ModelSerializer):
    trace_id = serializers.IntegerField(source="trace.pk", read_only=True)
    trace_external_id = serializers.CharField(source="trace.external_id", read_only=True)
    cluster = serializers.IntegerField(source="cluster.number", read_only=True, allow_null=True)
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", read_only=True, allow_null=True)

    class Meta:
        model = Failure
        fields = [
            "id",
            "trace_id",
            "trace_external_id",
            "rules",
            "cluster",
            "is_noise",
            "duplicate_of",
            "group_size",
            "embed_text",
        ]
