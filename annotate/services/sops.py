"""SOP versions: drafts are edited, a published version is frozen and what annotators follow."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotate.labeling import (
    DEFAULT_SCHEMA_YAML,
    DEFAULT_SOP_MARKDOWN,
    parse_schema,
    require_sections,
    schema_to_dict,
    sop_diff,
)
from annotate.labeling.schema import LabelSchema
from annotate.models import SOP
from flywheel.errors import Conflict, NotFound
from flywheel.models import Project

IMMUTABLE = "SOP v{version} is published and cannot change; create a new draft instead."
NO_SOP = "Project '{project}' has no published SOP yet."
NO_SOP_HINT = "A lead writes and publishes one on the SOP page before anyone labels."
SCHEMA_CACHE_SIZE = 64
_SCHEMAS: dict[str, LabelSchema] = {}  # content hash -> parsed schema (insertion order: oldest first)


@transaction.atomic
def sop_save_draft(
    *, project: Project, body: str, label_schema: str | dict[str, Any], user: Any, title: str = "Labeling SOP"
) -> SOP:
    """Creates the next draft, or updates the open one. The schema must parse even in a draft.

    The schema is stored canonical (choices resolved against this body), as the browser reads it.
    """
    data = schema_to_dict(parse_schema(label_schema, sop_markdown=body))
    draft = SOP.objects.select_for_update().filter(project=project, status=SOP.Status.DRAFT).first()
    if draft is None:
        latest = SOP.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
        draft = SOP(project=project, version=latest + 1, created_by=user)
    draft.title, draft.body, draft.label_schema = title, body, data
    draft.save()
    return draft


@transaction.atomic
def sop_publish(*, sop: SOP) -> SOP:
    if sop.status == SOP.Status.PUBLISHED:
        raise Conflict(IMMUTABLE.format(version=sop.version))
    require_sections(sop.body)
    parse_schema(sop.label_schema, sop_markdown=sop.body)
    sop.status, sop.published_at = SOP.Status.PUBLISHED, timezone.now()
    sop.save(update_fields=["status", "published_at"])
    return sop


def sop_current(project: Project) -> SOP:
    sop = SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED).order_by("-version").first()
    if sop is None:
        raise NotFound(NO_SOP.format(project=project.name), hint=NO_SOP_HINT)
    return sop


def sop_schema(sop: SOP) -> LabelSchema:
    """The SOP's parsed schema; remembered per process by content (a schema is frozen)."""
    key = hashlib.sha256(
        json.dumps([sop.label_schema, sop.body], sort_keys=True, default=str).encode()
    ).hexdigest()
    schema = _SCHEMAS.get(key)
    if schema is None:
        schema = parse_schema(sop.label_schema, sop_markdown=sop.body)
        if len(_SCHEMAS) >= SCHEMA_CACHE_SIZE:
            _SCHEMAS.pop(next(iter(_SCHEMAS)))
        _SCHEMAS[key] = schema
    return schema


def sop_versions_diff(old: SOP, new: SOP) -> str:
    return sop_diff(old.body, new.body, f"v{old.version}", f"v{new.version}")


def sop_bootstrap(*, project: Project, user: Any) -> SOP:
    """A first published SOP from the shipped template, so a new project can start at once."""
    draft = sop_save_draft(
        project=project, body=DEFAULT_SOP_MARKDOWN, label_schema=DEFAULT_SCHEMA_YAML, user=user
    )
    return sop_publish(sop=draft)
