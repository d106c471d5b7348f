from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

ENV_VAR_NAME = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Give the NAME of an environment variable (e.g. LANGFUSE_SECRET_KEY), not a key."
)


def _no_plain_secret(value: str) -> None:
    if value.startswith("sk-lf-"):
        raise ValidationError(
            "That looks like a Langfuse secret key. Store the key in an environment variable on the "
            "server and enter the variable's name here."
        )


class Project(models.Model):
    """A team's stream of traces and everything made from them."""

    name = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    # PII policy (see flywheel.pii.config.ScrubConfig): empty means the service defaults.
    pii_entities = models.JSONField(default=list, blank=True, help_text="Presidio entity types to scrub.")
    pii_score_threshold = models.FloatField(null=True, blank=True)
    pii_allow_list = models.JSONField(default=list, blank=True, help_text="Terms that are never PII.")
    pii_deny_patterns = models.JSONField(
        default=list,
        blank=True,
        help_text='Extra patterns: [{"name": "account", "entity": "ACCOUNT_ID", "regex": "ACC-\\\\d{8}"}]',
    )

    # Clustering policy (see flywheel.cluster): what is embedded, and how close is "the same".
    class EmbedText(models.TextChoices):
        LAST_USER_AND_ANSWER = "last_user_and_answer", "Last user message + the model's answer"
        ANSWER = "answer", "The model's answer"
        LAST_USER = "last_user", "Last user message"
        CONVERSATION = "conversation", "The whole conversation"

    embed_text = models.CharField(
        max_length=32, choices=EmbedText.choices, default=EmbedText.LAST_USER_AND_ANSWER
    )
    near_duplicate_threshold = models.FloatField(
        default=0.95, help_text="Cosine similarity that counts as a duplicate."
    )
    cluster_params = models.JSONField(
        default=dict, blank=True, help_text="Overrides of ClusterParams fields."
    )
    recluster_every_days = models.PositiveIntegerField(
        default=7, help_text="Full re-cluster when the last is older."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TraceSource(models.Model):
    """Where a project's traces come from: a Langfuse connection, or file imports."""

    class Kind(models.TextChoices):
        LANGFUSE = "langfuse", "Langfuse API"
        FILE = "file", "Export files"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources")
    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LANGFUSE)
    base_url = models.URLField(blank=True, default="https://cloud.langfuse.com")
    public_key = models.CharField(max_length=128, blank=True, validators=[_no_plain_secret])
    # Never the secret itself: the name of the env var that holds it on the server.
    secret_key_env = models.CharField(
        max_length=128, blank=True, default="LANGFUSE_SECRET_KEY", validators=[ENV_VAR_NAME]
    )
    environments = models.JSONField(default=list, blank=True, help_text="Only these Langfuse environments.")
    tags = models.JSONField(default=list, blank=True, help_text="Only traces carrying all these tags.")
    window_hours = models.FloatField(default=6.0, help_text="Largest time window per request series.")
    overlap_minutes = models.FloatField(
        default=15.0, help_text="Re-read this much before the watermark (Langfuse reads can lag ingestion)."
    )
    page_limit = models.PositiveIntegerField(default=500)
    initial_since = models.DateTimeField(null=True, blank=True, help_text="Where the first sync starts.")
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="Everything before this instant has been committed."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def secret_key(self) -> str | None:
        return os.environ.get(self.secret_key_env) if self.secret_key_env else None
