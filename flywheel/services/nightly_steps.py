"""The nightly job's steps for one project. Each is idempotent: re-running it after a crash is safe.

- sync: every Langfuse source of the project (scrubbed at the door); file sources are skipped.
- cluster: rules → embed → dedup → assign, or a full re-cluster when due or when the share of
  unclustered failures passed the policy's bound.
- tasks: labeling tasks for new clusters (up to ``tasks_per_new_cluster`` in all) and growing ones
  (``tasks_per_growing_cluster`` more per day they grow); a re-run the same day adds nothing.
- release: when there are ``min_new_labels`` new final labels and the agreement gate holds.
- train: the newest release no successful run of the policy's method has trained yet.
- writeback: final labels, corrections and cluster membership as Langfuse scores.

With ``dry_run`` each step says what it would do and writes nothing. The steps' heavier
collaborators (Presidio, MiniLM, TRL behind them) are imported inside the step that needs them,
so ``manage.py nightly --help`` answers at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from annotate.models import ReviewAction, Sample, Task
from flywheel.errors import FlywheelError
from flywheel.models import (
    Cluster,
    Failure,
    FlywheelPolicy,
    NightlyRun,
    Project,
    Release,
    TraceSource,
    TrainingRun,
)
from flywheel.nightly import Step, StepError, StepOutcome
from flywheel.selectors.clusters import cluster_list
from flywheel.selectors.releases import final_labels_since_last_release

NO_SOURCES = "no Langfuse source: nothing to sync (file imports run with import_traces)"
NOT_ENOUGH = "no release: {n} new final labels since {since}; the policy needs {need}"
GATE_FAILED = "no release: agreement gate failed ({reason})"
TRAINING_OFF = "training is off for this project (FlywheelPolicy.training_mode)"
NOTHING_TO_TRAIN = "nothing to train: every release has a successful {method} run"
NO_RELEASE_YET = "nothing to train: the project has no release yet"
WRITEBACK_OFF = "write-back is off for this project (FlywheelPolicy.writeback_enabled)"
PII_REOPEN = (
    "the export's PII gate found personal data in this item: remove it from the label, or discard the item"
)


@dataclass
class Context:
    project: Project
    policy: FlywheelPolicy
    dry_run: bool
    progress: bool
    run: NightlyRun


def build(ctx: Context) -> list[Step]:
    def bind(fn: Callable[[Context], StepOutcome]) -> Callable[[], StepOutcome]:
        return lambda: _guard(fn, ctx)

    return [
        Step("sync", bind(sync)),
        Step("cluster", bind(cluster)),
        Step("tasks", bind(tasks), needs=("cluster",)),
        Step("release", bind(release)),
        Step("train", bind(train), needs=("release",)),
        Step("writeback", bind(writeback)),
    ]


def _guard(fn: Callable[[Context], StepOutcome], ctx: Context) -> StepOutcome:
    """Domain errors become step errors with their message, hint and exit code."""
    try:
        return fn(ctx)
    except FlywheelError as exc:
        raise StepError(str(exc), exit_code=exc.exit_code) from exc


def sync(ctx: Context) -> StepOutcome:
    from flywheel.ingest.sync import sync_langfuse, sync_range

    sources = list(ctx.project.sources.filter(kind=TraceSource.Kind.LANGFUSE).order_by("name"))
    if not sources:
        return StepOutcome(NO_SOURCES, {"sources": 0}, skipped=True)
    if ctx.dry_run:
        windows = []
        for source in sources:
            start, end = sync_range(source, since=None, until=None)
            windows.append(f"{source.name} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
        return StepOutcome("would sync " + "; ".join(windows), {"sources": len(sources)})
    totals = {"sources": len(sources), "read": 0, "created": 0, "updated": 0, "quarantined": 0}
    failures: list[tuple[str, FlywheelError]] = []
    for source in sources:
        try:
            run = sync_langfuse(source=source, progress=ctx.progress)
        except FlywheelError as exc:
            failures.append((source.name, exc))
            continue
        for key in ("read", "created", "updated", "quarantined"):
            totals[key] += getattr(run, key)
    message = (
        f"{totals['read']} traces read ({totals['created']} new, {totals['updated']} updated, "
        f"{totals['quarantined']} quarantined) from {len(sources) - len(failures)} of {len(sources)} "
        "source(s)"
    )
    if failures:
        name, error = failures[0]
        raise StepError(f"{message}; source '{name}': {error}", counts=totals, exit_code=error.exit_code)
    return StepOutcome(message, totals)


def _noise_share(project: Project) -> float:
    counts = Failure.objects.filter(project=project, active=True, duplicate_of=None).aggregate(
        all=Count("pk"), noise=Count("pk", filter=Q(is_noise=True))
    )
    return counts["noise"] / counts["all"] if counts["all"] else 0.0


def cluster(ctx: Context) -> StepOutcome:
    from flywheel.services.embedding import default_embedder
    from flywheel.services.pipeline import failures_pipeline, needs_full_run

    share = _noise_share(ctx.project)
    full = needs_full_run(ctx.project) or share > ctx.policy.max_noise_share
    why = "due" if needs_full_run(ctx.project) else f"unclustered share {share:.0%}" if full else ""
    if ctx.dry_run:
        kind = f"a full re-cluster ({why})" if full else "an incremental pass"
        return StepOutcome(f"would run {kind}", {"noise_share": round(share, 3)})
    outcome = failures_pipeline(
        project=ctx.project, embedder=default_embedder(), full=full, progress=ctx.progress
    )
    e = outcome.evaluation
    counts: dict[str, Any] = {
        "kind": outcome.run.kind,
        "traces": e.traces,
        "flagged": e.flagged,
        "new_failures": e.new,
        "embedded": outcome.embedded,
        **{k: v for k, v in outcome.clustering.items() if isinstance(v, int | float | str)},
    }
    return StepOutcome(outcome.summary(), counts)


def _task_targets(ctx: Context) -> list[tuple[Cluster, int, str]]:
    """(cluster, how many new tasks it gets, why) for new and growing clusters."""

    policy = ctx.policy
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    existing = dict(
        Task.objects.filter(project=ctx.project, kind=Task.Kind.NORMAL, cluster__isnull=False)
        .values_list("cluster")
        .annotate(n=Count("pk"))
    )
    before_today = dict(
        Task.objects.filter(
            project=ctx.project, kind=Task.Kind.NORMAL, cluster__isnull=False, created_at__lt=today
        )
        .values_list("cluster")
        .annotate(n=Count("pk"))
    )
    targets = []
    for c in cluster_list(project=ctx.project):
        growth = c.recent - c.previous  # type: ignore[attr-defined]
        have = existing.get(c.pk, 0)
        if c.is_new:
            want, why = policy.tasks_per_new_cluster - have, "new"
        elif growth >= policy.growth_threshold:
            want = before_today.get(c.pk, 0) + policy.tasks_per_growing_cluster - have
            why = f"growing (+{growth} this week)"
        else:
            continue
        if want > 0:
            targets.append((c, want, why))
    return targets


def tasks(ctx: Context) -> StepOutcome:
    from annotate.services.tasks import tasks_create

    targets = _task_targets(ctx)
    if not targets:
        return StepOutcome("no new or growing cluster needs tasks", {"created": 0, "clusters": 0})
    if ctx.dry_run:
        listed = ", ".join(f"C{c.number} ({why}): up to {n}" for c, n, why in targets[:10])
        return StepOutcome(f"would create tasks for {listed}", {"clusters": len(targets)})
    created = 0
    filled: dict[str, int] = {"new": 0, "growing": 0}
    for c, n, why in targets:
        made = tasks_create(project=ctx.project, user=None, clusters=[c.number], per_cluster=n)
        created += made
        if made:
            filled["new" if why == "new" else "growing"] += 1
    message = f"{created} tasks created for {filled['new']} new and {filled['growing']} growing cluster(s)"
    if not created:
        message = (
            f"no tasks created: the {len(targets)} cluster(s) that want more have no unlabeled failure left"
        )
    return StepOutcome(message, {"created": created, "clusters": filled["new"] + filled["growing"]})


def release(ctx: Context) -> StepOutcome:
    from annotate.services.agreement import agreement_gate
    from flywheel.services.export import ReleaseRefused, release_publish

    policy = ctx.policy
    latest = Release.objects.filter(project=ctx.project).order_by("-number").first()
    since = latest.release_id if latest else "the start"
    fresh = final_labels_since_last_release(ctx.project)
    counts: dict[str, Any] = {"new_final_labels": fresh, "needed": policy.min_new_labels}
    if fresh < policy.min_new_labels:
        return StepOutcome(
            NOT_ENOUGH.format(n=fresh, since=since, need=policy.min_new_labels), counts, skipped=True
        )
    gate = agreement_gate(
        project=ctx.project,
        field=policy.agreement_field,
        min_alpha=policy.min_alpha,
        min_items=policy.min_overlap_items,
    )
    counts.update(alpha=gate.alpha, alpha_needed=policy.min_alpha)
    if not gate.passed:
        return StepOutcome(GATE_FAILED.format(reason=gate.reason), counts, skipped=True)
    if ctx.dry_run:
        return StepOutcome(
            f"would export a release of {fresh} new final labels (alpha {gate.alpha:.3f})", counts
        )
    try:
        result = release_publish(project=ctx.project, user=None, progress=ctx.progress)
    except ReleaseRefused as refused:
        reopened = _send_back(ctx.project, list(getattr(refused, "pii_items", [])))
        hint = f"; {reopened} item(s) the PII gate flagged went back to the review queue" if reopened else ""
        raise StepError(f"{refused}{hint}", counts=counts, exit_code=refused.exit_code) from refused
    counts.update(release=result.release.release_id, samples=result.release.sample_count)
    return StepOutcome(result.summary(), counts)


def _send_back(project: Project, item_keys: list[str]) -> int:
    """Items the PII gate flagged are reopened (labeled tasks) or discarded (variants, generated rows),
    so a lead sees them first in the review queue and the next release can go out without them."""
    from annotate.services.review import review_reopen

    done = 0
    for sample in Sample.objects.filter(project=project, status=Sample.Status.FINAL, item_key__in=item_keys):
        if sample.task_id is not None:
            review_reopen(project=project, task_id=sample.task_id, reviewer=None, comment=PII_REOPEN)
        else:
            Sample.objects.filter(pk=sample.pk).update(status=Sample.Status.DISCARDED)
            ReviewAction.objects.create(
                project=project, sample=sample, kind=ReviewAction.Kind.DISCARD, comment=PII_REOPEN
            )
        done += 1
    return done


def train(ctx: Context) -> StepOutcome:
    from flywheel.services.training import training_launch

    policy = ctx.policy
    if policy.training_mode == FlywheelPolicy.TrainingMode.OFF:
        return StepOutcome(TRAINING_OFF, {}, skipped=True)
    trained = TrainingRun.objects.filter(
        project=ctx.project, method=policy.training_method, status=TrainingRun.Status.SUCCEEDED
    ).values("release")
    target = Release.objects.filter(project=ctx.project).exclude(pk__in=trained).order_by("-number").first()
    if target is None:
        none_yet = not Release.objects.filter(project=ctx.project).exists()
        message = NO_RELEASE_YET if none_yet else NOTHING_TO_TRAIN.format(method=policy.training_method)
        return StepOutcome(message, {}, skipped=True)
    if ctx.dry_run:
        return StepOutcome(f"would train {policy.training_method} on {target.release_id}", {})
    run = training_launch(release=target, policy=policy)
    counts = {"release": target.release_id, "run": run.pk, "status": run.status, "promoted": run.promoted}
    if run.status != TrainingRun.Status.SUCCEEDED:
        raise StepError(f"training on {target.release_id} {run.status}: {run.error}", counts=counts)
    verdict = "promoted" if run.promoted else "not promoted"
    reasons = "; ".join(run.gate.get("reasons", [])[:3]) if isinstance(run.gate, dict) else ""
    return StepOutcome(
        f"{policy.training_method} on {target.release_id}: {verdict}" + (f" ({reasons})" if reasons else ""),
        counts,
    )


def writeback(ctx: Context) -> StepOutcome:
    from flywheel.services.writeback import scores_write_back

    if not ctx.policy.writeback_enabled:
        return StepOutcome(WRITEBACK_OFF, {}, skipped=True)
    result = scores_write_back(project=ctx.project, progress=ctx.progress, dry_run=ctx.dry_run)
    counts = {k: v for k, v in vars(result).items() if isinstance(v, int | float | str)}
    return StepOutcome(result.summary(), counts)
