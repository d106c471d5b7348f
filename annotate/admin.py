from django.contrib import admin

from annotate.models import (
    SOP,
    Annotation,
    Assignment,
    AugmentRun,
    LabelingPolicy,
    Membership,
    ReviewAction,
    Sample,
    Task,
)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "role", "created_at")
    list_filter = ("role", "project")
    search_fields = ("user__username", "project__name")


@admin.register(LabelingPolicy)
class LabelingPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "project",
        "annotations_per_task",
        "overlap_share",
        "overlap_annotators",
        "gold_rate",
        "lease_minutes",
        "review_sample_rate",
    )


@admin.register(SOP)
class SOPAdmin(admin.ModelAdmin):
    list_display = ("project", "version", "status", "title", "published_at")
    list_filter = ("project", "status")

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # A published version is frozen: annotations point at it.
        if obj is not None and obj.status == SOP.Status.PUBLISHED:
            return [f.name for f in SOP._meta.fields]
        return ["status", "published_at"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Leads turn a task into a gold task here: kind = gold, with its known answer."""

    list_display = (
        "id",
        "project",
        "trace",
        "cluster",
        "kind",
        "status",
        "submitted_count",
        "required_annotations",
    )
    list_filter = ("project", "kind", "status")
    raw_id_fields = ("trace", "failure", "cluster")
    list_select_related = ("project", "trace", "cluster")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "annotator", "status", "leased_at", "lease_expires_at", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("task",)
    list_select_related = ("task", "annotator")


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "annotator", "status", "round", "sop", "seconds_spent", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("task", "assignment")
    list_select_related = ("task", "annotator", "sop")


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "item_key", "origin", "status", "decision", "reviewer", "decided_at")
    list_filter = ("project", "origin", "status", "decision")
    search_fields = ("item_key",)
    raw_id_fields = ("task", "trace", "seed", "augment_run", "sop")
    list_select_related = ("project", "reviewer")


@admin.register(ReviewAction)
class ReviewActionAdmin(admin.ModelAdmin):
    """The review history is append-only: viewable here, never edited."""

    list_display = ("id", "project", "task", "kind", "actor", "created_at")
    list_filter = ("project", "kind")
    list_select_related = ("project", "task", "actor")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(AugmentRun)
class AugmentRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "kind", "name", "round", "status", "started_at")
    list_filter = ("project", "kind", "status")
