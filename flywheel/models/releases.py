"""Export releases: numbered, immutable datasets on disk, and the split every item keeps."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from flywheel.models.projects import Project


class Release(models.Model):
    """A published release. The row is written only after its directory is complete on disk."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    number = models.PositiveIntegerField(help_text="v1, v2, ... per project.")
    release_id = models.SlugField(max_length=100, unique=True, help_text="<project>-v<number>")
    path = models.CharField(max_length=1024, help_text="The release directory.")
    query = models.JSONField(default=dict, blank=True, help_text="What was selected.")
    manifest = models.JSONField(default=dict, blank=True)
    manifest_sha256 = models.CharField(max_length=64)
    sample_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows per split and method.")
    warnings = models.JSONField(default=list, blank=True)
    forced = models.BooleanField(default=False, help_text="Published below the minimum sample count.")
    predecessor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="successors"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="release_number_unique")]
        ordering = ["project", "-number"]

    def __str__(self) -> str:
        return self.release_id


class ReleaseItem(models.Model):
    """Which item went into which split of a release (the diff between releases reads these)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="items")
    item_key = models.CharField(max_length=200)
    split = models.CharField(max_length=5)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "item_key"], name="release_item_unique")]

    def __str__(self) -> str:
        return f"{self.item_key} in {self.split}"


class SplitAssignment(models.Model):
    """The split a group of items (one trace, one seed and its variants) was first placed in.

    Kept for good: an item once in val or test stays there in every later release, so held-out
    sets never leak into training as the reviewed set grows.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="split_assignments")
    group_key = models.CharField(max_length=200)
    split = models.CharField(max_length=5)
    first_release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "group_key"], name="split_group_unique")]

    def __str__(self) -> str:
        return f"{self.group_key} -> {self.split}"


def default_mix() -> dict[str, float]:
    # The domain notes' target mix of sample types.
    return {"golden": 0.4, "negative": 0.2, "boundary": 0.3, "generic": 0.1}


class FlywheelPolicy(models.Model):
    """What the nightly job does for a project: when to release, how to train, where to write back."""

    class TrainingMode(models.TextChoices):
        OFF = "off", "Do not train"
        IN_PROCESS = "in_process", "Train here (python -m training in a subprocess)"
        COMMAND = "command", "Run a command (a GPU host, a job submission) and wait for it"

    class Method(models.TextChoices):
        SFT = "sft"
        DPO = "dpo"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="flywheel_policy")
    # Export
    min_release_samples = models.PositiveIntegerField(
        default=500, help_text="A release below this many samples is refused unless forced."
    )
    test_share = models.FloatField(default=0.1)
    val_share = models.FloatField(default=0.1)
    mix_target = models.JSONField(default=default_mix, blank=True, help_text="Target share per sample type.")
    mix_margin = models.FloatField(default=0.1, help_text="Warn when a type's share is off by more.")
    # Nightly
    min_new_labels = models.PositiveIntegerField(
        default=500, help_text="New final labels since the last release before the nightly exports."
    )
    agreement_field = models.CharField(max_length=64, default="verdict")
    min_alpha = models.FloatField(
        default=0.667, help_text="Krippendorff's alpha on overlapped items the nightly's release gate needs."
    )
    min_overlap_items = models.PositiveIntegerField(
        default=20, help_text="Overlapped items the gate needs before it trusts alpha at all."
    )
    tasks_per_new_cluster = models.PositiveIntegerField(default=20)
    tasks_per_growing_cluster = models.PositiveIntegerField(default=10)
    growth_threshold = models.PositiveIntegerField(
        default=5, help_text="New failures in a week that make a cluster 'growing'."
    )
    max_noise_share = models.FloatField(
        default=0.35, help_text="A full re-cluster when the unclustered share grows past this."
    )
    # Training
    training_mode = models.CharField(max_length=16, choices=TrainingMode.choices, default=TrainingMode.OFF)
    training_method = models.CharField(max_length=8, choices=Method.choices, default=Method.SFT)
    training_config = models.CharField(
        max_length=1024, default="training/configs/sft.yaml", help_text="YAML config (relative to the code)."
    )
    training_overrides = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"base_model": "/models/qwen"}: --key=value options.'
    )
    training_command = models.TextField(
        blank=True,
        default="",
        help_text="Command template for a GPU host; {release}, {output}, {config}, {method} are filled in.",
    )
    training_timeout_minutes = models.PositiveIntegerField(default=24 * 60)
    # Write-back
    writeback_enabled = models.BooleanField(default=True)
    writeback_source = models.ForeignKey(
        "flywheel.TraceSource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where scores go; empty: each trace's own Langfuse source.",
    )

    class Meta:
        verbose_name_plural = "flywheel policies"

    def __str__(self) -> str:
        return f"flywheel policy of {self.project}"
