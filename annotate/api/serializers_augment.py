"""Serializers of the seed-variant API: runs, proposed rows (with their seeds), decisions."""

from __future__ import annotations

from rest_framework import serializers

from annotate.models import AugmentRun, Sample


class AugmentRunSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.get_username", read_only=True, default=None, allow_null=True
    )
    counts = serializers.JSONField()
    params = serializers.JSONField()

    class Meta:
        model = AugmentRun
        fields = [
            "id",
            "kind",
            "name",
            "version",
            "round",
            "status",
            "error",
            "counts",
            "params",
            "created_by",
            "started_at",
            "finished_at",
        ]


class LaunchSerializer(serializers.Serializer):
    recipe = serializers.CharField(help_text="The recipe, YAML or JSON (syntax: annotate/augment/recipe.py).")
    round = serializers.IntegerField(min_value=1, max_value=1000, default=1)


class SeedSerializer(serializers.ModelSerializer):
    prompt = serializers.JSONField()

    class Meta:
        model = Sample
        fields = ["id", "item_key", "prompt", "answer", "rejected_answer"]


class ProposedSerializer(serializers.ModelSerializer):
    prompt = serializers.JSONField()
    values = serializers.JSONField()
    lineage = serializers.JSONField()
    seed = SeedSerializer(read_only=True)
    run = serializers.IntegerField(source="augment_run_id", read_only=True)
    reviewer = serializers.CharField(
        source="reviewer.get_username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Sample
        fields = [
            "id",
            "item_key",
            "group_key",
            "origin",
            "status",
            "decision",
            "run",
            "prompt",
            "answer",
            "rejected_answer",
            "output_format",
            "values",
            "lineage",
            "seed",
            "reviewer",
            "decided_at",
        ]


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ProgressSerializer(serializers.Serializer):
    waiting = serializers.IntegerField()
    accepted = serializers.IntegerField()
    discarded = serializers.IntegerField()
    reviewed = serializers.IntegerField(help_text="Rows decided one by one.")
    needed = serializers.IntegerField(help_text="One-by-one decisions a bulk accept waits for.")
    bulk_ready = serializers.BooleanField()


class BulkAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
