"""Django admin for every pipeline model. Sources are admin-only (the admin is staff-only)."""

from django.contrib import admin

from flywheel.models import Observation, Project, Quarantine, Score, SyncRun, Trace, TraceSource


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
