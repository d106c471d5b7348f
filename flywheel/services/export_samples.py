"""Final samples → export items, the dedup vectors (cached), the policy and the agreement summary.

The export core (:mod:`flywheel.export`) knows nothing of the database; this module reads it.
How a sample's fields resolve (documented in docs/release-format.md):

- ``sample_type``, ``task_type``, ``difficulty``, ``domain``, ``must_refuse``: the lineage, else
  the label's value; a missing sample type is "negative" when the model's answer was rejected,
  else "golden"; a missing task type is "unspecified".
- ``json_schema``: the ``validators.json_schema`` of the answer field in the sample's SOP schema;
  generated rows (and rows without an SOP) carry their own in ``lineage["json_schema"]``.
- ``reference_exact``: true for JSON tasks that are not refusals, and for generated rows: their
  golden answer is the only right one. Free text has many good answers: false.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce

from annotate.models import SOP, Sample
from annotate.review import answer_field
from annotate.services.sops import sop_schema
from flywheel.cluster.embedding import Embedder, text_hash
from flywheel.export import ExportItem, ExportPolicy, ReleaseQuery
from flywheel.export.records import UNCLUSTERED
from flywheel.models import Embedding, FlywheelPolicy, Project

log = logging.getLogger(__name__)
LOOKUP_CHUNK = 2000
AGREEMENT_DROP = ("annotators", "by_choice", "cohen", "cohen_weighted", "categories", "choices")


def policy_for(project: Project) -> tuple[FlywheelPolicy, ExportPolicy]:
    row, _ = FlywheelPolicy.objects.get_or_create(project=project)
    return row, ExportPolicy(
        min_samples=row.min_release_samples,
        test_share=row.test_share,
        val_share=row.val_share,
        mix_target=dict(row.mix_target or {}),
        mix_margin=row.mix_margin,
        near_duplicate_threshold=project.near_duplicate_threshold,
    )


def final_samples(project: Project, query: ReleaseQuery) -> QuerySet[Sample]:
    """Final samples of the project in the query's time window (the other filters need resolved fields)."""
    samples = Sample.objects.filter(project=project, status=Sample.Status.FINAL).annotate(
        when=Coalesce("decided_at", "created_at"),
        seed_item_key=F("seed__item_key"),
        reviewer_name=F(f"reviewer__{get_user_model().USERNAME_FIELD}"),
    )
    if query.since:
        samples = samples.filter(when__gte=query.since)
    if query.until:
        samples = samples.filter(when__lt=query.until)
    return samples.order_by("pk")


class SchemaCache:
    """The JSON schema of each SOP version's answer field, parsed once per SOP."""

    def __init__(self) -> None:
        self._schemas: dict[int, tuple[int, Mapping[str, Any] | None]] = {}

    def get(self, sop_id: int) -> tuple[int, Mapping[str, Any] | None]:
        if sop_id not in self._schemas:
            sop = SOP.objects.get(pk=sop_id)
            schema = sop_schema(sop)
            name = answer_field(schema)
            json_schema = schema.field(name).validators.json_schema if name else None
            self._schemas[sop_id] = (sop.version, dict(json_schema) if json_schema is not None else None)
        return self._schemas[sop_id]


# What an item needs of a sample row: read as plain tuples, no model instances (a 100k release
# spends seconds in Model.__init__ otherwise).
COLUMNS = (
    "item_key",
    "group_key",
    "prompt",
    "answer",
    "rejected_answer",
    "output_format",
    "values",
    "lineage",
    "origin",
    "decision",
    "annotators",
    "sop_id",
    "trace_id",
    "when",
    "seed_item_key",
    "reviewer_name",
)


class SampleRow(NamedTuple):
    item_key: str
    group_key: str
    prompt: list[dict[str, Any]]
    answer: str
    rejected_answer: str
    output_format: str
    values: dict[str, Any]
    lineage: dict[str, Any]
    origin: str
    decision: str
    annotators: list[str]
    sop_id: int | None
    trace_id: int | None
    when: Any
    seed_item_key: str | None
    reviewer_name: str | None


def items_of(samples: QuerySet[Sample], *, chunk: int = 2000) -> Generator[ExportItem, None, None]:
    """The export items of ``samples``, streamed by one query (a server-side cursor on PostgreSQL).

    Rows are read raw and their JSON columns decoded here: Django's per-row converters cost more
    than the export itself on a 100k release.
    """
    schemas = SchemaCache()
    sql, params = samples.values_list(*COLUMNS).query.sql_with_params()
    loads = json.loads
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            for row in rows:
                prompt, values, lineage, annotators, when = row[2], row[6], row[7], row[10], row[13]
                yield item_from_sample(
                    SampleRow(
                        row[0],
                        row[1],
                        loads(prompt) if isinstance(prompt, str | bytes) else prompt,
                        row[3],
                        row[4],
                        row[5],
                        loads(values) if isinstance(values, str | bytes) else values,
                        loads(lineage) if isinstance(lineage, str | bytes) else lineage,
                        row[8],
                        row[9],
                        loads(annotators) if isinstance(annotators, str | bytes) else annotators,
                        row[11],
                        row[12],
                        _when(when),
                        row[14],
                        row[15],
                    ),
                    schemas,
                )


def _when(value: Any) -> datetime | None:
    """A timestamp as the backend returns it raw: aware already (PostgreSQL), or UTC text (SQLite)."""
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
    when = datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _cluster(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return f"C{value}" if isinstance(value, int) else str(value)


def _pick(lineage: Mapping[str, Any], values: Mapping[str, Any], name: str) -> Any:
    value = lineage.get(name)
    return value if value not in (None, "") else values.get(name)


def sample_type_of(lineage: Mapping[str, Any], values: Mapping[str, Any], *, rejected: bool) -> str:
    return _str(_pick(lineage, values, "sample_type")) or ("negative" if rejected else "golden")


def task_type_of(lineage: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    return _str(_pick(lineage, values, "task_type")) or "unspecified"


def cluster_of(lineage: Mapping[str, Any]) -> str | None:
    return _cluster(lineage.get("cluster"))


def item_from_sample(sample: SampleRow, schemas: SchemaCache) -> ExportItem:
    lineage: Mapping[str, Any] = sample.lineage or {}
    values: Mapping[str, Any] = sample.values or {}
    get = lineage.get
    programmatic = sample.origin == Sample.Origin.PROGRAMMATIC
    sop_version, json_schema = schemas.get(sample.sop_id) if sample.sop_id else (None, None)
    if programmatic or sample.sop_id is None:
        own = get("json_schema")
        json_schema = own if isinstance(own, dict) else None
    output_format = sample.output_format or get("output_format") or "text"
    must_refuse = bool(_pick(lineage, values, "must_refuse"))
    annotators = tuple(str(name) for name in (sample.annotators or []))
    rejected = sample.rejected_answer or ""
    return ExportItem(
        item_key=sample.item_key,
        group_key=sample.group_key,
        prompt=tuple(dict(message) for message in sample.prompt or []),
        answer=sample.answer or "",
        rejected_answer=rejected,
        output_format=output_format,
        task_type=task_type_of(lineage, values),
        sample_type=sample_type_of(lineage, values, rejected=bool(rejected.strip())),
        must_refuse=must_refuse,
        json_schema=json_schema,
        reference_exact=(output_format == "json" and not must_refuse) or programmatic,
        difficulty=_str(_pick(lineage, values, "difficulty")),
        domain=_str(_pick(lineage, values, "domain")),
        source=_str(get("source")) or _str(get("generator")),
        source_id=_str(get("source_id")),
        observation_id=_str(get("observation_id")),
        cluster=_cluster(get("cluster")),
        annotator=_str(get("annotator")) or (annotators[0] if annotators else None),
        reviewer=_str(get("reviewer")) or _str(sample.reviewer_name),
        annotators=annotators,
        sop_version=_int(get("sop_version")) or sop_version,
        augment_type=_str(get("augment_type")),
        augment_round=_int(get("augment_round")),
        origin=sample.origin,
        decision=sample.decision or "",
        decided_at=sample.when,
        trace_key=str(sample.trace_id) if sample.trace_id else None,
        seed_key=sample.seed_item_key,
    )


class CachedEmbed:
    """The pipeline's ``Embed`` on an :class:`Embedder`, with vectors cached by (model, text hash).

    Failures were embedded by ``question + answer`` too, so an unchanged answer costs nothing.
    """

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.model_id = embedder.model_id
        self.computed = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        hashes = [text_hash(self.model_id, text) for text in texts]
        if not hashes:
            return np.zeros((0, 1), np.float32)
        blobs = self._cached(sorted(set(hashes)))
        missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in blobs}
        if missing:
            order = sorted(missing)
            fresh = np.asarray(self._embedder.embed([missing[h] for h in order]), dtype=np.float32)
            Embedding.objects.bulk_create(
                [
                    Embedding(model_id=self.model_id, text_hash=h, dim=fresh.shape[1], vector=v.tobytes())
                    for h, v in zip(order, fresh, strict=True)
                ],
                ignore_conflicts=True,
                batch_size=LOOKUP_CHUNK,
            )
            blobs.update((h, v.tobytes()) for h, v in zip(order, fresh, strict=True))
            self.computed += len(order)
        flat = np.frombuffer(b"".join(blobs[h] for h in hashes), dtype=np.float32)
        return flat.reshape(len(hashes), -1)

    def _cached(self, hashes: Sequence[str]) -> dict[str, bytes]:
        """Stored vectors by text hash, read raw (one query per chunk, no model instances)."""
        found: dict[str, bytes] = {}
        table = connection.ops.quote_name(Embedding._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(hashes), LOOKUP_CHUNK):
                chunk = list(hashes[start : start + LOOKUP_CHUNK])
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT text_hash, vector FROM {table} WHERE model_id = %s AND text_hash IN ({marks})",
                    [self.model_id, *chunk],
                )
                found.update((h, bytes(v)) for h, v in cursor.fetchall())
        return found


def agreement_summary(project: Project, query: ReleaseQuery) -> dict[str, Any] | None:
    """The agreement dashboard's statistics at release time, trimmed to what a manifest needs.

    None when the dashboard is not installed or cannot answer (no SOP yet, no annotations):
    the manifest then carries counts of the released items' decisions instead.
    """
    try:
        from annotate.agreement_filters import AgreementFilters
        from annotate.services.agreement import agreement_dashboard
    except ImportError:
        return None
    clusters = tuple(int(name[1:]) for name in query.clusters if name != UNCLUSTERED)
    filters = AgreementFilters(
        sop_versions=query.sop_versions, clusters=clusters, since=query.since, until=query.until
    )
    try:
        dashboard = agreement_dashboard(project, filters)
    except Exception as exc:  # the release does not depend on it; say so in the log
        log.warning(
            "agreement dashboard unavailable for the release of %s: %s", project.name, type(exc).__name__
        )
        return None
    return {
        "source": "agreement_dashboard",
        "sop_version": dashboard.get("sop_version"),
        "filters": dashboard.get("filters"),
        "consensus_rule": dashboard.get("consensus_rule"),
        "counts": dashboard.get("counts"),
        "fields": {
            name: {k: v for k, v in report.items() if k not in AGREEMENT_DROP}
            for name, report in (dashboard.get("fields") or {}).items()
        },
        "boundary": dashboard.get("boundary"),
    }
