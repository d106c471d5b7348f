"""Serializers of the training-run API: a list row with the headline, and the full record."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from flywheel.models import TrainingRun
from flywheel.training_runs.summary import headline


class TrainingRunSerializer(serializers.ModelSerializer):
    release_id = serializers.CharField(source="release_name", read_only=True)
    headline = serializers.SerializerMethodField(help_text="base → adapter per metric, with the delta.")
    reasons = serializers.SerializerMethodField(help_text="The promotion gate's reasons.")

    class Meta:
        model = TrainingRun
        fields = [
            "id", "release_id", "method", "status", "promoted", "headline", "reasons", "error",
            "run_dir", "started_at", "finished_at", "registered_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_headline(self, run: TrainingRun) -> list[dict[str, Any]]:
        return [c.to_dict() for c in headline(run.metrics)]

    def get_reasons(self, run: TrainingRun) -> list[str]:
        return list((run.gate or {}).get("reasons") or []) if isinstance(run.gate, dict) else []


class TrainingRunDetailSerializer(TrainingRunSerializer):
    class Meta(TrainingRunSerializer.Meta):
        fields = [*TrainingRunSerializer.Meta.fields, "config", "metrics", "gate", "manifest"]
        read_only_fields = fields
