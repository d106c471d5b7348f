"""Helpers the review tests share: label a task through the real queue, publish a new SOP version."""

from __future__ import annotations

from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN
from annotate.models import SOP, Annotation
from annotate.services import queue
from annotate.services.sops import sop_publish, sop_save_draft
from tests.annotate.conftest import GOOD

# A second annotator who sees it the other way: the verdict, sample type and answer differ.
DISAGREE = {**GOOD, "verdict": "good", "sample_type": "golden", "corrected_output": "It shipped today."}
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def label(project, user, values=GOOD) -> Annotation:
    """The user takes their next task and submits ``values`` for it."""
    lease = queue.next_task(project=project, user=user)
    assert lease is not None, f"{user} got no task"
    return queue.submit(assignment_id=lease.pk, user=user, values=values, seconds_spent=12)


def publish_new_sop(project, lead) -> SOP:
    draft = sop_save_draft(
        project=project, body=DEFAULT_SOP_MARKDOWN + "\n", label_schema=DEFAULT_SCHEMA_YAML, user=lead
    )
    return sop_publish(sop=draft)
