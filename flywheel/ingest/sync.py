"""sync_langfuse: incremental, idempotent reads from the Langfuse API into the store.

The range [start, end) is cut into windows of ``source.window_hours``. Each batch commits on
its own; the source's watermark moves to a window's end only once the whole window is
committed. A crash or kill therefore loses nothing (the next run re-reads from the last
watermark, minus an overlap for Langfuse's read lag) and duplicates nothing (upserts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from flywheel.errors import ConfigError, InvalidInput
from flywheel.ingest.batching import chunked, progress_bar
from flywheel.ingest.langfuse_api import LangfuseApiConfig, LangfuseApiSource
from flywheel.ingest.runs import record_progress, sync_run
from flywheel.ingest.store import ingest_batch
from flywheel.models import SyncRun, TraceSource
from flywheel.services.scrubbing import hash_key, scrubber_for

DEFAULT_LOOKBACK = timedelta(days=7)
MISSING_KEY_VAR = (
    "Source '{source}' reads its Langfuse secret key from the environment variable {var}, which is not "
    "set for this process."
)
MISSING_KEY_HINT = "Export {var}=sk-lf-... (from Langfuse: Settings > API keys) and run again."
NOT_LANGFUSE = "Source '{source}' is a {kind} source; sync_langfuse reads Langfuse API sources only."
BAD_RANGE = "--since ({since}) must be before --until ({until})."

SourceFactory = Callable[[LangfuseApiConfig], LangfuseApiSource]


def api_config_for(source: TraceSource) -> LangfuseApiConfig:
    if source.kind != TraceSource.Kind.LANGFUSE:
        raise InvalidInput(NOT_LANGFUSE.format(source=source.name, kind=source.kind))
    secret = source.secret_key()
    if not secret:
        raise ConfigError(
            MISSING_KEY_VAR.format(source=source.name, var=source.secret_key_env),
            hint=MISSING_KEY_HINT.format(var=source.secret_key_env),
        )
    return LangfuseApiConfig(
        base_url=source.base_url,
        public_key=source.public_key,
        secret_key=secret,
        timeout=settings.LANGFUSE_TIMEOUT,
        page_limit=source.page_limit,
        environments=tuple(source.environments),
        tags=tuple(source.tags),
        secret_key_env=source.secret_key_env,
        max_attempts=settings.LANGFUSE_MAX_ATTEMPTS,
        backoff_base=settings.LANGFUSE_BACKOFF_BASE,
    )


def sync_range(
    source: TraceSource, *, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime]:
    end = until or timezone.now()
    if since is not None:
        start = since
    elif source.watermark is not None:
        start = source.watermark - timedelta(minutes=source.overlap_minutes)
    else:
        start = source.initial_since or end - DEFAULT_LOOKBACK
    if start >= end:
        raise InvalidInput(BAD_RANGE.format(since=start.isoformat(), until=end.isoformat()))
    return start, end


def windows(start: datetime, end: datetime, hours: float) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(hours=max(hours, 1 / 60))
    while start < end:
        yield start, min(start + step, end)
        start += step


def sync_langfuse(
    *,
    source: TraceSource,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: bool = False,
    source_factory: SourceFactory = LangfuseApiSource,
) -> SyncRun:
    config = api_config_for(source)
    start, end = sync_range(source, since=since, until=until)
    scrubber = scrubber_for(source.project)
    key = hash_key()
    with (
        sync_run(source=source, kind="api", window_start=start, window_end=end) as run,
        source_factory(config) as api,
    ):
        api.check()
        bar = progress_bar(desc=f"sync {source.name}", enabled=progress)
        try:
            for window_start, window_end in windows(start, end, source.window_hours):
                for page in api.read_window(window_start, window_end):
                    for batch in chunked(page.items, settings.INGEST_BATCH_SIZE):
                        outcome = ingest_batch(
                            source=source, items=batch, scrubber=scrubber, key=key, run=run
                        )
                        record_progress(run, outcome, cursor=f"{window_start.isoformat()} {page.label}")
                        bar.update(outcome.read)
                _commit_watermark(source, run, window_start, window_end)
        finally:
            bar.close()
    return run


def _commit_watermark(
    source: TraceSource, run: SyncRun, window_start: datetime, window_end: datetime
) -> None:
    # Only move forward, and only over a contiguous range: a backfill of an older range, or a
    # --since that leaves a gap after the watermark, must not claim what was never read.
    source.refresh_from_db(fields=["watermark"])
    contiguous = source.watermark is None or window_start <= source.watermark
    if contiguous and (source.watermark is None or window_end > source.watermark):
        source.watermark = window_end
        source.save(update_fields=["watermark"])
    run.watermark = source.watermark
    run.save(update_fields=["watermark"])
