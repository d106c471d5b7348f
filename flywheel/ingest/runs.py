"""Sync runs: one at a time per source, recorded, with a lock that outlives a crashed holder."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from flywheel.errors import Conflict, FlywheelError
from flywheel.ingest.store import BatchOutcome
from flywheel.locks import Holder, holder_state, this_process
from flywheel.models import SyncRun, TraceSource

log = logging.getLogger(__name__)

# A running run that has not beaten its heart for this long is taken as crashed.
LOCK_TTL = timedelta(minutes=10)
SYNC_BUSY = (
    "Another sync of source '{source}' is running (run #{run}, last sign of life "
    "{beat:%Y-%m-%d %H:%M:%S} UTC). Wait for it to finish; if it crashed, its lock expires "
    "{ttl} minutes after that."
)


def _holder_is_dead(holder: str) -> bool:
    """True when the holder ran on this host and its process is gone (killed, crashed)."""
    return holder_state(holder) is Holder.DEAD


@contextmanager
def sync_run(*, source: TraceSource, kind: str, **fields: object) -> Iterator[SyncRun]:
    """Opens a run (refusing if another live one holds the source) and closes it whatever happens."""
    now = timezone.now()
    with transaction.atomic():
        TraceSource.objects.select_for_update().filter(pk=source.pk).first()
        live = SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING).order_by("-id")
        for other in live:
            beat = other.heartbeat_at or other.started_at
            if now - beat < LOCK_TTL and not _holder_is_dead(other.holder):
                raise Conflict(
                    SYNC_BUSY.format(
                        source=source.name, run=other.pk, beat=beat, ttl=int(LOCK_TTL.seconds / 60)
                    )
                )
            other.status = SyncRun.Status.FAILED
            other.error = f"abandoned: no sign of life since {beat:%Y-%m-%d %H:%M:%S} UTC (crashed or killed)"
            other.finished_at = now
            other.save(update_fields=["status", "error", "finished_at"])
        run = SyncRun.objects.create(
            source=source, kind=kind, heartbeat_at=now, holder=this_process(), **fields
        )
    try:
        yield run
    except FlywheelError as exc:
        _finish(run, SyncRun.Status.FAILED, str(exc))
        raise
    except BaseException as exc:
        # Unexpected errors may carry raw values in their message: record only the type.
        _finish(run, SyncRun.Status.FAILED, f"unexpected {type(exc).__name__}; committed batches are kept")
        raise
    else:
        _finish(run, SyncRun.Status.SUCCEEDED, "")


def record_progress(run: SyncRun, outcome: BatchOutcome, *, cursor: str) -> None:
    run.read += outcome.read
    run.created += outcome.created
    run.updated += outcome.updated
    run.unchanged += outcome.unchanged
    run.quarantined += outcome.quarantined
    run.cursor = cursor[:512]
    run.heartbeat_at = timezone.now()
    run.save(
        update_fields=["read", "created", "updated", "unchanged", "quarantined", "cursor", "heartbeat_at"]
    )


def _finish(run: SyncRun, status: str, error: str) -> None:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    log.info(
        "sync run %s %s: read=%s created=%s updated=%s unchanged=%s quarantined=%s",
        run.pk,
        status,
        run.read,
        run.created,
        run.updated,
        run.unchanged,
        run.quarantined,
    )


def summary_line(run: SyncRun) -> str:
    took = (run.finished_at or timezone.now()) - run.started_at
    return (
        f"{run.kind} sync of '{run.source.name}' {run.status} in {took.total_seconds():.1f}s: "
        f"read {run.read}, created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
        f"quarantined {run.quarantined}"
        + (f"; committed up to {run.watermark:%Y-%m-%d %H:%M:%S} UTC" if run.watermark else "")
    )
