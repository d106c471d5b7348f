"""Django admin for every pipeline model. Sources are admin-only (the admin is staff-only)."""

from typing import Any

from django import forms
from django.contrib import admin

from flywheel.models import (
    Cluster,
    ClusterRun,
    Embedding,
    Failure,
    FailureRule,
    FlywheelPolicy,
    NightlyRun,
    Observation,
    Project,
    Quarantine,
    Release,
    Score,
    ScoreWrite,
    SyncRun,
    Trace,
    TraceSource,
    TrainingRun,
)
from flywheel.rules import InvalidRules, load_rules
from flywheel.services.rules import rule_data


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(TraceSource)
class TraceSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "kind", "base_url", "watermark")
    list_filter = ("kind", "project")
    readonly_fields = ("watermark", "created_at")

    def has_module_permission(self, request):  # type: ignore[no-untyped-def]
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return request.user.is_superuser


class ObservationInline(admin.TabularInline):
    model = Observation
    fields = ("external_id", "type", "name", "level", "model", "start_time", "latency_ms")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Trace)
class TraceAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "project", "source", "timestamp", "environment")
    list_filter = ("project", "source", "environment")
    search_fields = ("external_id", "name")
    readonly_fields = ("placeholder_map", "scrub_audit", "pii_counts", "ingested_at", "updated_at")
    inlines = [ObservationInline]
    list_select_related = ("project", "source")


@admin.register(Observation)
class ObservationAdmin(admin.ModelAdmin):
    list_display = ("external_id", "trace", "type", "name", "level", "model")
    list_filter = ("type", "level")
    search_fields = ("external_id", "trace__external_id")
    raw_id_fields = ("trace",)
    list_select_related = ("trace",)


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ("name", "value", "string_value", "data_type", "source", "trace", "timestamp")
    list_filter = ("name", "data_type", "source")
    raw_id_fields = ("trace",)
    list_select_related = ("trace",)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "kind",
        "status",
        "read",
        "created",
        "updated",
        "quarantined",
        "started_at",
    )
    list_filter = ("status", "kind", "source")
    list_select_related = ("source",)


@admin.register(Quarantine)
class QuarantineAdmin(admin.ModelAdmin):
    list_display = ("location", "record_kind", "external_id", "reason", "seen_count", "last_seen")
    list_filter = ("record_kind", "project", "source")
    list_select_related = ("source", "project")


class FailureRuleForm(forms.ModelForm):
    class Meta:
        model = FailureRule
        fields = ["project", "name", "description", "definition", "enabled", "position"]

    def clean(self) -> dict[str, Any]:
        """Validates the rule the way the engine will read it: the whole project set, with this one."""
        data = super().clean() or {}
        project, name = data.get("project"), data.get("name")
        if project is None or not name or data.get("definition") is None:
            return data
        if not isinstance(data["definition"], dict):
            raise forms.ValidationError({"definition": 'Give a mapping, e.g. {"tag": "escalated"}.'})
        others = [rule_data(r) for r in project.failure_rules.exclude(pk=self.instance.pk)]
        mine = {"name": name, **data["definition"], "enabled": data.get("enabled", True)}
        try:
            load_rules({"rules": [*others, mine]})
        except InvalidRules as exc:
            raise forms.ValidationError(list(exc.problems)) from None
        return data


@admin.register(FailureRule)
class FailureRuleAdmin(admin.ModelAdmin):
    form = FailureRuleForm
    list_display = ("name", "project", "enabled", "position", "updated_at")
    list_filter = ("project", "enabled")
    search_fields = ("name",)


@admin.register(Failure)
class FailureAdmin(admin.ModelAdmin):
    list_display = ("trace", "project", "rules", "active", "cluster", "is_noise", "group_size")
    list_filter = ("project", "active", "is_noise")
    raw_id_fields = ("trace", "duplicate_of", "cluster", "embedding")
    list_select_related = ("trace", "project", "cluster")


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "project", "size", "occurrences", "is_new", "active")
    list_filter = ("project", "active", "is_new")
    search_fields = ("name",)
    exclude = ("centroid",)


@admin.register(ClusterRun)
class ClusterRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "kind", "status", "started_at", "finished_at")
    list_filter = ("project", "kind", "status")


@admin.register(Embedding)
class EmbeddingAdmin(admin.ModelAdmin):
    list_display = ("model_id", "text_hash", "dim", "created_at")
    exclude = ("vector",)


@admin.register(FlywheelPolicy)
class FlywheelPolicyAdmin(admin.ModelAdmin):
    list_display = ("project", "min_release_samples", "min_new_labels", "min_alpha", "training_mode")


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """Releases are immutable: shown, never edited here."""

    list_display = ("release_id", "project", "sample_count", "forced", "created_at")
    list_filter = ("project",)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "release_name", "method", "status", "promoted", "registered_at")
    list_filter = ("project", "method", "status", "promoted")


@admin.register(NightlyRun)
class NightlyRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "status", "dry_run", "attempts", "started_at", "finished_at")
    list_filter = ("project", "status")


@admin.register(ScoreWrite)
class ScoreWriteAdmin(admin.ModelAdmin):
    list_display = ("score_id", "project", "name", "trace", "written_at")
    list_filter = ("project", "name")
    raw_id_fields = ("trace",)
