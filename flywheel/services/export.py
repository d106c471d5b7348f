"""Publishing an export release: build it with the core, move it into place, record it.

    result = release_publish(project=project, user=lead)      # the nightly calls exactly this
    print(result.summary())

Nothing is half-written. The release is built in a temp directory beside its target, every
file fsynced, renamed into place, and only then are the ``Release``, ``ReleaseItem`` and
``SplitAssignment`` rows written, in one transaction; if that fails the directory goes again.
A run killed anywhere leaves no release row and no visible release: its temp directory (or, if
the kill fell between the rename and the commit, a directory still holding the ``.publishing``
marker) is removed by the next run. One export per project runs at a time (a file lock).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flywheel.cluster.embedding import Embedder
from flywheel.errors import Conflict, FlywheelError, InvalidInput
from flywheel.export import DEFAULT_MIX, BuildOutcome, PiiGate, Predecessor, ReleaseQuery, ReleaseSpec, Split
from flywheel.export import build_release as core_build
from flywheel.export.manifest import code_version
from flywheel.export.pii import ScrubberScanner, SqliteScanCache
from flywheel.export.writer import (
    TARGET_EXISTS,
    TARGET_EXISTS_HINT,
    finish,
    is_orphan,
    move_into_place,
    remove_tree,
    stale_temp_dirs,
    temp_dir,
)
from flywheel.ingest.batching import progress_bar
from flywheel.models import Project, Release, ReleaseItem, SplitAssignment
from flywheel.services.export_samples import (
    CachedEmbed,
    agreement_summary,
    final_samples,
    items_of,
    policy_for,
)

log = logging.getLogger(__name__)
BATCH = 2000
REFUSED = "Release {release} of project '{project}' refused ({n} problem(s)):\n- {problems}{more}"
REFUSED_HINT = (
    "Fix the problems listed (nothing was published). Only the minimum sample count can be "
    "overridden, with --force."
)
MAX_SHOWN = 10
BUSY = "Another export of project '{project}' is running on this host."
BUSY_HINT = "Wait for it to finish, then run the export again."
RACE = "Release {release} was published by another run meanwhile; nothing was written by this one."
RACE_HINT = "Run the export again: it builds the next version."
UNKNOWN_SAMPLE_TYPE = "Unknown sample type {name!r} in the query; known: {known}."
DISK_FULL = (
    "Ran out of disk space writing release {release} in {parent} ({reason}). Nothing was published "
    "and the partly written files were removed."
)
DISK_FULL_HINT = (
    "Free space on that disk (a release needs about twice its final size while it is built) or export "
    "to another --out directory, then run the export again."
)
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # EFBIG: a file-size limit (ulimit -f, quota)


class DiskFull(FlywheelError):
    exit_code = 74  # EX_IOERR
    http_status = 507  # Insufficient Storage


class ReleaseRefused(InvalidInput):
    """The release failed a check; ``reasons`` lists each problem (the message shows the first ones).

    The items behind the refusal, for a caller that sends them back to review
    (``annotate.services.review.review_reopen`` / ``review_discard``) without parsing text:
    ``pii_items`` (keys of items the PII gate flagged) and ``json_items`` (keys of items whose
    golden JSON answer does not parse or fails its schema). Both are sorted and complete.
    """

    def __init__(
        self,
        release_id: str,
        project: str,
        reasons: list[str],
        *,
        pii_items: Sequence[str] = (),
        json_items: Sequence[str] = (),
    ) -> None:
        shown = reasons[:MAX_SHOWN]
        more = f"\n- ... and {len(reasons) - len(shown)} more" if len(reasons) > len(shown) else ""
        super().__init__(
            REFUSED.format(
                release=release_id, project=project, n=len(reasons), problems="\n- ".join(shown), more=more
            ),
            hint=REFUSED_HINT,
        )
        self.release_id = release_id
        self.reasons = reasons
        self.pii_items: list[str] = sorted(pii_items)
        self.json_items: list[str] = sorted(json_items)


@dataclass
class DryRunResult:
    """What a release would be: every check passed, nothing written."""

    manifest: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def release_id(self) -> str:
        return str(self.manifest["release_id"])

    def headline(self) -> str:
        n = self.manifest["counts"]["items"]
        return f"dry run: {self.release_id} would be published with {n} samples (nothing written)"

    def summary(self) -> str:
        m, counts = self.manifest, self.manifest["counts"]
        head = self.headline()
        split = " · ".join
        mix = m["mix"]["types"]
        pii, dedup, pii_run = m["pii"], m["dedup"], self.stats.get("pii", {})
        lines = [
            head,
            "  sft  " + split(f"{s} {n}" for s, n in counts["sft"].items()),
            "  dpo  " + split(f"{s} {n}" for s, n in counts["dpo"].items()),
            "  mix  "
            + split(
                f"{name} {row['share']:.0%}"
                + (f" (target {row['target']:.0%})" if row["target"] is not None else "")
                for name, row in mix.items()
            ),
            f"  dedup: {dedup['exact_removed']} exact and {dedup['near_removed']} near duplicates removed "
            f"({dedup['mode']}); PII gate: {pii['distinct_texts']} distinct texts clean "
            f"({pii_run.get('scanned', 0)} scanned, {pii_run.get('from_cache', 0)} known clean)",
        ]
        diff = m.get("diff")
        if diff:
            lines.append(
                f"  vs {diff['predecessor']}: +{diff['added']} added, -{diff['removed']} removed, "
                f"{diff['moved']} moved"
            )
        lines += [f"  warning: {w}" for w in m["warnings"]]
        return "\n".join(lines)


@dataclass
class ReleaseResult(DryRunResult):
    """A published release: its row (``release``) and directory (``path``)."""

    release: Release = field(kw_only=True)
    path: Path = field(kw_only=True)

    def headline(self) -> str:
        return f"published {self.release_id}: {self.manifest['counts']['items']} samples in {self.path}"


@contextmanager
def _project_lock(project: Project) -> Iterator[None]:
    root = Path(settings.DATA_DIR) / "releases"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{project.name}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(BUSY.format(project=project.name), hint=BUSY_HINT) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def release_publish(
    *,
    project: Project,
    user: Any = None,
    out_dir: Path | str | None = None,
    force: bool = False,
    query: ReleaseQuery | None = None,
    progress: bool = False,
    scrubber: Any = None,
    embedder: Embedder | None = None,
    pii_cache: bool = True,
) -> ReleaseResult:
    """Build, check and publish the next release of ``project``.

    Raises :class:`ReleaseRefused` listing every failed check. ``scrubber`` and ``embedder``
    default to the project's Presidio scrubber and the service's embedding model; ``pii_cache``
    off re-scans even texts a scrubber of the same configuration found clean before.
    """
    result = _publish(project, user, out_dir, force, query, progress, False, scrubber, embedder, pii_cache)
    assert isinstance(result, ReleaseResult)
    return result


def release_dry_run(
    *,
    project: Project,
    out_dir: Path | str | None = None,
    force: bool = False,
    query: ReleaseQuery | None = None,
    progress: bool = False,
    scrubber: Any = None,
    embedder: Embedder | None = None,
    pii_cache: bool = True,
) -> DryRunResult:
    """Every check of :func:`release_publish`, and the manifest it would write; writes no release."""
    return _publish(project, None, out_dir, force, query, progress, True, scrubber, embedder, pii_cache)


def _publish(
    project: Project,
    user: Any,
    out_dir: Path | str | None,
    force: bool,
    query: ReleaseQuery | None,
    progress: bool,
    dry_run: bool,
    scrubber: Any,
    embedder: Embedder | None,
    pii_cache: bool,
) -> DryRunResult:
    query = query or ReleaseQuery()
    parent = Path(out_dir) if out_dir else Path(settings.DATA_DIR) / "releases"
    with _project_lock(project):
        for stale in stale_temp_dirs(parent, project.name):
            log.info("removing %s, left by an export that did not finish", stale.name)
            remove_tree(stale)
        policy_row, policy = policy_for(project)
        known = sorted(set(DEFAULT_MIX) | set(policy.mix_target))
        for name in query.sample_types:
            if name not in known:
                raise InvalidInput(UNKNOWN_SAMPLE_TYPE.format(name=name[:40], known=", ".join(known)))
        last = Release.objects.filter(project=project).order_by("-number").first()
        spec = ReleaseSpec(
            project=project.name,
            number=(last.number if last else 0) + 1,
            created_at=timezone.now(),
            code_version=code_version(),
            query=query,
            policy=policy,
            predecessor=_predecessor(last),
            existing_splits={
                key: Split(split)
                for key, split in SplitAssignment.objects.filter(project=project).values_list(
                    "group_key", "split"
                )
            },
            force=force,
            agreement=agreement_summary(project, query),
        )
        target = parent / spec.release_id
        if is_orphan(target) and not Release.objects.filter(release_id=spec.release_id).exists():
            log.warning("removing %s: a publishing run died before recording it", target)
            remove_tree(target)
        if target.exists() and not dry_run:  # say so now, not after minutes of building
            raise Conflict(TARGET_EXISTS.format(path=target), hint=TARGET_EXISTS_HINT)
        with _no_space_explained(spec.release_id, parent):
            outcome, tmp = _build(
                project, spec, parent, query, progress, dry_run, scrubber, embedder, pii_cache
            )
        if outcome.refused:
            remove_tree(tmp)
            raise ReleaseRefused(
                spec.release_id,
                project.name,
                outcome.problems,
                pii_items=outcome.pii_items,
                json_items=outcome.json_items,
            )
        if dry_run:
            remove_tree(tmp)
            return DryRunResult(outcome.manifest, stats=outcome.stats)
        with _no_space_explained(spec.release_id, parent):
            release = _record(project, spec, outcome, tmp, target, last, user, policy_row.pk)
    return ReleaseResult(outcome.manifest, stats=outcome.stats, release=release, path=target)


@contextmanager
def _no_space_explained(release_id: str, parent: Path) -> Iterator[None]:
    """A full disk is the user's to fix: say so, instead of an unexpected OSError (the callee cleaned up)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            raise
        reason = os.strerror(exc.errno)
        raise DiskFull(
            DISK_FULL.format(release=release_id, parent=parent, reason=reason), hint=DISK_FULL_HINT
        ) from exc


def _predecessor(last: Release | None) -> Predecessor | None:
    if last is None:
        return None
    dedup = last.manifest.get("dedup") or {}
    return Predecessor(
        release_id=last.release_id,
        created_at=last.created_at,
        items={key: Split(split) for key, split in last.items.values_list("item_key", "split")},
        dedup={"model_id": dedup.get("model_id"), "threshold": dedup.get("threshold")},
    )


def _build(
    project: Project,
    spec: ReleaseSpec,
    parent: Path,
    query: ReleaseQuery,
    progress: bool,
    dry_run: bool,
    scrubber: Any,
    embedder: Embedder | None,
    pii_cache: bool,
) -> tuple[BuildOutcome, Path]:
    if scrubber is None:
        from flywheel.services.scrubbing import scrubber_for

        scrubber = scrubber_for(project)
    if embedder is None:
        from flywheel.services.embedding import default_embedder

        embedder = default_embedder()
    cache = SqliteScanCache(Path(settings.DATA_DIR) / "cache" / "pii-clean.sqlite3")
    gate = PiiGate(ScrubberScanner(scrubber), cache, use_cache=pii_cache)
    samples = final_samples(project, query)
    bars = {
        "scan": progress_bar(desc="read + embed", enabled=progress, unit="sample"),
        "write": progress_bar(desc="write + check", enabled=progress, unit="sample"),
    }
    if progress:
        bars["scan"].total = samples.count()
    tmp = temp_dir(parent, spec.release_id)
    work = tmp / ".work"
    work.mkdir()
    items = items_of(samples)
    try:
        outcome = core_build(
            items,
            spec=spec,
            embed=CachedEmbed(embedder),
            pii=gate,
            work=work,
            out=None if dry_run else tmp,
            progress=lambda stage, n: bars[stage].update(n),
        )
    except BaseException:
        remove_tree(tmp)
        raise
    finally:
        # A build stopped early leaves the stream suspended, its server-side cursor open. Closed by
        # the garbage collector instead, at any later moment, the cursor may wait for the psycopg
        # connection lock this very thread holds: the process hangs.
        items.close()
        for bar in bars.values():
            bar.close()
        cache.close()
    remove_tree(work)
    return outcome, tmp


def _record(
    project: Project,
    spec: ReleaseSpec,
    outcome: BuildOutcome,
    tmp: Path,
    target: Path,
    last: Release | None,
    user: Any,
    policy_pk: int,
) -> Release:
    """The directory goes into place and the rows are written together; a failure undoes both."""
    from flywheel.models import FlywheelPolicy

    moved = False
    try:
        with transaction.atomic():
            FlywheelPolicy.objects.select_for_update().filter(pk=policy_pk).first()  # one publisher at a time
            if Release.objects.filter(project=project, number=spec.number).exists():
                raise Conflict(RACE.format(release=spec.release_id), hint=RACE_HINT)
            move_into_place(tmp, target)
            moved = True
            manifest = outcome.manifest
            release = Release.objects.create(
                project=project,
                number=spec.number,
                release_id=spec.release_id,
                path=str(target.resolve()),
                query=manifest["query"],
                manifest=manifest,
                manifest_sha256=outcome.manifest_sha256,
                sample_count=manifest["counts"]["items"],
                counts={"sft": manifest["counts"]["sft"], "dpo": manifest["counts"]["dpo"]},
                warnings=outcome.warnings,
                forced=spec.force and manifest["counts"]["items"] < spec.policy.min_samples,
                predecessor=last,
                created_by=user,
            )
            # The row's time is the manifest's (auto_now_add would stamp the commit instead).
            Release.objects.filter(pk=release.pk).update(created_at=spec.created_at)
            release.created_at = spec.created_at
            ReleaseItem.objects.bulk_create(
                (
                    ReleaseItem(release=release, item_key=key, split=split.value)
                    for key, split in outcome.iter_items()
                ),
                batch_size=BATCH,
            )
            _assign(project, release, outcome.assignments, spec.existing_splits)
    except IntegrityError:
        remove_tree(target if moved else tmp)
        raise Conflict(RACE.format(release=spec.release_id), hint=RACE_HINT) from None
    except BaseException:
        remove_tree(target if moved else tmp)
        raise
    finish(target)
    return release


def _assign(
    project: Project, release: Release, wanted: Mapping[str, Split], existing: Mapping[str, Split]
) -> None:
    """New groups get their split for good; a group joined to a held-out one moves there (never back)."""
    fresh = [key for key in sorted(wanted) if key not in existing]
    SplitAssignment.objects.bulk_create(
        (
            SplitAssignment(project=project, group_key=k, split=wanted[k].value, first_release=release)
            for k in fresh
        ),
        batch_size=BATCH,
    )
    for split in Split:
        moved = [
            k for k in sorted(wanted) if k in existing and existing[k] is not split and wanted[k] is split
        ]
        for start in range(0, len(moved), BATCH):
            SplitAssignment.objects.filter(
                project=project, group_key__in=moved[start : start + BATCH]
            ).update(split=split.value)
