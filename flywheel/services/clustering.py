"""Clusters of failures: a full re-cluster with stable identities, or incremental assignment.

The algorithms live in flywheel.cluster (no Django); this module moves data between them and
the database. A failure's cluster identity is ``Cluster.number`` (C1, C2, ...), matched across
full runs by member overlap, then centroid similarity.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Max

from flywheel.cluster.clustering import NOISE, ClusterParams, assign_to_centroids
from flywheel.cluster.dedup import group_duplicates
from flywheel.cluster.identity import ClusterProfile, match_clusters
from flywheel.cluster.pipeline import cluster_texts
from flywheel.errors import InvalidInput
from flywheel.models import Cluster, ClusterRun, Failure, Project
from flywheel.services.embedding import vectors_of

BAD_PARAMS = "Project '{project}' has unknown clustering parameters: {names}. Known: {known}."
UPDATE_FIELDS = ["duplicate_of", "group_size", "cluster", "is_noise", "assigned_by"]


def params_for(project: Project) -> ClusterParams:
    known = {f.name for f in dataclasses.fields(ClusterParams)}
    unknown = sorted(set(project.cluster_params) - known)
    if unknown:
        raise InvalidInput(
            BAD_PARAMS.format(project=project.name, names=", ".join(unknown), known=", ".join(sorted(known)))
        )
    return ClusterParams(**project.cluster_params)


def _placed(project: Project) -> list[Failure]:
    return list(
        Failure.objects.filter(project=project, active=True, embedding__isnull=False)
        .select_related("embedding")
        .order_by("pk")
    )


@transaction.atomic
def clusters_recluster(*, project: Project, run: ClusterRun) -> dict[str, Any]:
    """Dedup and cluster every active failure; carry identities over from the previous clusters."""
    failures = _placed(project)
    if not failures:
        return {"failures": 0, "clusters": 0, "noise": 0, "new_clusters": 0, "retired_clusters": 0}
    result = cluster_texts(
        [f.embed_text for f in failures],
        vectors_of(failures),
        params=params_for(project),
        dedup_threshold=project.near_duplicate_threshold,
        model_id=failures[0].embedding.model_id if failures[0].embedding else None,
    )
    representative = result.dedup.representative
    group_sizes = np.bincount(representative, minlength=len(failures))
    found = [c for c in result.clusters if c.label != NOISE]
    members = {c.label: np.flatnonzero(result.labels == c.label) for c in found}

    previous = {c.pk: c for c in Cluster.objects.filter(project=project, active=True).exclude(centroid=None)}
    old_members: dict[int, set[str]] = {pk: set() for pk in previous}
    for pk, cluster_id in Failure.objects.filter(cluster_id__in=previous).values_list("pk", "cluster_id"):
        old_members[cluster_id].add(str(pk))
    matches = match_clusters(
        {pk: ClusterProfile(frozenset(old_members[pk]), _centre(c)) for pk, c in previous.items()},
        {
            c.label: ClusterProfile(frozenset(str(failures[int(i)].pk) for i in members[c.label]), c.centroid)
            for c in found
            if c.centroid is not None
        },
    )
    number = (Cluster.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
    by_label: dict[int, Cluster] = {}
    for found_cluster in found:
        matched = matches.get(found_cluster.label)
        cluster = previous.pop(matched) if matched is not None else None
        if cluster is None:
            cluster = Cluster(project=project, number=number, first_run=run, is_new=True)
            number += 1
        else:
            cluster.is_new = False
        idx = members[found_cluster.label]
        cluster.name = found_cluster.name
        cluster.keywords = list(found_cluster.keywords)
        cluster.size = found_cluster.unique_size
        cluster.occurrences = found_cluster.size
        cluster.centroid = np.asarray(found_cluster.centroid, dtype=np.float32).tobytes()
        cluster.exemplars = [failures[int(i)].pk for i in found_cluster.exemplars]
        cluster.rule_counts = dict(Counter(r for i in idx for r in failures[int(i)].rules).most_common())
        cluster.active, cluster.last_run = True, run
        cluster.save()
        by_label[found_cluster.label] = cluster
    Cluster.objects.filter(pk__in=list(previous)).update(active=False)

    for i, failure in enumerate(failures):
        rep, label = int(representative[i]), int(result.labels[i])
        failure.duplicate_of_id = failures[rep].pk if rep != i else None
        failure.group_size = int(group_sizes[rep])
        failure.cluster = by_label.get(label)
        failure.is_noise = label == NOISE
        failure.assigned_by = "full"
    Failure.objects.bulk_update(failures, UPDATE_FIELDS, batch_size=1000)
    Failure.objects.filter(project=project, active=False).update(cluster=None, is_noise=False, assigned_by="")
    run.manifest = result.manifest
    return {
        "failures": len(failures),
        "clusters": len(found),
        "noise": int((result.labels == NOISE).sum()),
        "new_clusters": sum(1 for c in by_label.values() if c.is_new),
        "retired_clusters": len(previous),
    }


@transaction.atomic
def clusters_assign(*, project: Project, run: ClusterRun) -> dict[str, Any]:
    """Places failures that arrived since the last full run, without moving anyone else.

    A new failure that duplicates an already placed one joins its group (and cluster); the rest
    are de-duplicated among themselves and go to the nearest cluster centre, or to noise when no
    centre is close enough.
    """
    params = params_for(project)
    failures = _placed(project)
    fresh = [f for f in failures if not f.assigned_by]
    if not fresh:
        return {"failures": 0, "assigned": 0, "noise": 0, "duplicates": 0}
    placed = [f for f in failures if f.assigned_by and f.duplicate_of_id is None]
    by_key = {f.dedup_key: f for f in placed}
    threshold = project.near_duplicate_threshold
    duplicates = 0
    unmatched: list[Failure] = []
    placed_vectors = vectors_of(placed) if placed else None
    fresh_vectors = vectors_of(fresh)
    for failure, vector in zip(fresh, fresh_vectors, strict=True):
        twin = by_key.get(failure.dedup_key)
        if twin is None and placed_vectors is not None:
            sims = placed_vectors @ vector
            best = int(np.argmax(sims))
            twin = placed[best] if sims[best] >= threshold else None
        if twin is not None:
            _join(failure, twin)
            duplicates += 1
        else:
            unmatched.append(failure)

    if unmatched:
        texts = [f.embed_text for f in unmatched]
        dedup = group_duplicates(texts, vectors_of(unmatched), threshold=threshold)
        reps = dedup.keep
        active = Cluster.objects.filter(project=project, active=True).exclude(centroid=None)
        clusters = {c.pk: c for c in active}
        labels = assign_to_centroids(
            vectors_of([unmatched[i] for i in reps]),
            {pk: c.centroid_array() for pk, c in clusters.items()},  # type: ignore[misc]
            min_similarity=params.min_similarity if params.min_similarity is not None else 0.0,
        )
        label_of = dict(zip(reps.tolist(), labels.tolist(), strict=True))
        sizes = np.bincount(dedup.representative, minlength=len(unmatched))
        for i, failure in enumerate(unmatched):
            rep = int(dedup.representative[i])
            label = label_of[rep]
            failure.duplicate_of_id = unmatched[rep].pk if rep != i else None
            failure.group_size = int(sizes[rep])
            failure.cluster = clusters.get(label) if label != NOISE else None
            failure.is_noise = label == NOISE
            failure.assigned_by = "incremental"
    Failure.objects.bulk_update(fresh, UPDATE_FIELDS, batch_size=1000)
    _recount(project)
    run.manifest = {"kind": "incremental", "min_similarity": params.min_similarity, "threshold": threshold}
    return {
        "failures": len(fresh),
        "assigned": sum(1 for f in fresh if f.cluster_id),
        "noise": sum(1 for f in fresh if f.is_noise),
        "duplicates": duplicates,
    }


def _centre(cluster: Cluster) -> np.ndarray:
    centre = cluster.centroid_array()
    assert centre is not None  # callers exclude clusters without a centroid
    return centre


def _join(failure: Failure, twin: Failure) -> None:
    failure.duplicate_of_id = twin.pk
    failure.cluster_id, failure.is_noise = twin.cluster_id, twin.is_noise
    failure.assigned_by = "incremental"
    twin.group_size += 1
    Failure.objects.filter(pk=twin.pk).update(group_size=twin.group_size)


def _recount(project: Project) -> None:
    for cluster in Cluster.objects.filter(project=project, active=True):
        members = Failure.objects.filter(cluster=cluster, active=True)
        cluster.occurrences = members.count()
        cluster.size = members.filter(duplicate_of=None).count()
        cluster.save(update_fields=["occurrences", "size", "updated_at"])
