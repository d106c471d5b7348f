from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotate.models import SOP, Annotation, Assignment, Task

# Ids and numbers sent to the database: its integer range (a bigger one is a 400, not an overflow).
ID_MAX = 2_147_483_647


class SOPSerializer(serializers.ModelSerializer):
    label_schema = serializers.JSONField()

    class Meta:
        model = SOP
        fields = ["id", "version", "status", "title", "body", "label_schema", "created_at", "published_at"]
        read_only_fields = ["id", "version", "status", "created_at", "published_at"]


class TaskCreateSerializer(serializers.Serializer):
    clusters = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX), required=False, default=list
    )
    per_cluster = serializers.IntegerField(min_value=1, max_value=10_000, default=20)
    all_new = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["all_new"] and not attrs["clusters"]:
            raise serializers.ValidationError("Choose clusters (by number) or set all_new.")
        return attrs


class TaskSerializer(serializers.ModelSerializer):
    """The lead's view of a task (gold answers included: leads only)."""

    trace_id = serializers.CharField(source="trace.external_id", read_only=True)
    cluster = serializers.IntegerField(source="cluster.number", read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "trace_id",
            "cluster",
            "kind",
            "gold_answer",
            "required_annotations",
            "submitted_count",
            "priority",
            "status",
            "output_format",
            "created_at",
        ]


class AnnotatorTaskSerializer(serializers.Serializer):
    """What an annotator sees of a leased task: never gold answers or other people's labels."""

    assignment = serializers.IntegerField(source="pk")
    lease_expires_at = serializers.DateTimeField()
    task = serializers.IntegerField(source="task.pk")
    trace_id = serializers.CharField(source="task.trace.external_id")
    conversation = serializers.JSONField(source="task.trace.conversation")
    model_answer = serializers.CharField(source="task.model_answer")
    output_format = serializers.CharField(source="task.output_format")
    cluster = serializers.SerializerMethodField()
    sop_version = serializers.IntegerField(source="sop.version")
    label_schema = serializers.JSONField(source="sop.label_schema")
    return_comment = serializers.CharField(
        help_text="The lead's comment when this is rework sent back after review; empty otherwise."
    )

    def get_cluster(self, assignment: Assignment) -> dict[str, Any] | None:
        cluster = assignment.task.cluster
        return (
            {"number": cluster.number, "name": cluster.label, "size": cluster.occurrences}
            if cluster
            else None
        )


class SubmitSerializer(serializers.Serializer):
    values = serializers.DictField()
    seconds_spent = serializers.FloatField(min_value=0, required=False, default=0.0)


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class AnnotationSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    sop_version = serializers.IntegerField(source="sop.version", read_only=True)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "task",
            "annotator",
            "sop_version",
            "values",
            "lineage",
            "seconds_spent",
            "created_at",
        ]
