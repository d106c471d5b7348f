"""import_traces: Langfuse export files into the store, through the same scrub and upsert path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from flywheel.errors import InvalidInput, NotFound
from flywheel.ingest.batching import chunked, progress_bar
from flywheel.ingest.files import iter_files
from flywheel.ingest.runs import record_progress, sync_run
from flywheel.ingest.store import ingest_batch
from flywheel.models import Project, SyncRun, TraceSource
from flywheel.paths import plain_path
from flywheel.services.scrubbing import hash_key, scrubber_for

NO_FILE = "No such file: {path}"
NOT_A_FILE = "{path} is not a regular file."
NO_PROJECT = "No project named '{name}'."
NO_PROJECT_HINT = "Pass --create-project to create it, or check the name with `manage.py projects`."


def file_source_for(project: Project) -> TraceSource:
    source, _ = TraceSource.objects.get_or_create(
        name=f"{project.name}-files"[:64],
        defaults={"project": project, "kind": TraceSource.Kind.FILE, "base_url": "", "secret_key_env": ""},
    )
    return source


def resolve_project(name: str, *, create: bool) -> Project:
    project = Project.objects.filter(name=name).first()
    if project is None:
        if not create:
            raise NotFound(NO_PROJECT.format(name=name), hint=NO_PROJECT_HINT)
        project = Project.objects.create(name=name)
    return project


def check_paths(paths: Sequence[str | Path]) -> list[Path]:
    checked = []
    for raw in paths:
        path = plain_path(raw, what="import path")
        if not path.exists():
            raise NotFound(NO_FILE.format(path=path))
        if not path.is_file():
            raise InvalidInput(NOT_A_FILE.format(path=path))
        checked.append(path)
    return checked


def import_traces(*, project: Project, paths: Sequence[str | Path], progress: bool = False) -> SyncRun:
    files = check_paths(paths)
    source = file_source_for(project)
    scrubber = scrubber_for(project)
    key = hash_key()
    with sync_run(source=source, kind="file", files=[p.name for p in files]) as run:
        bar = progress_bar(desc=f"import into {project.name}", enabled=progress)
        try:
            for number, batch in enumerate(chunked(iter_files(files), settings.INGEST_BATCH_SIZE), 1):
                outcome = ingest_batch(source=source, items=batch, scrubber=scrubber, key=key, run=run)
                record_progress(run, outcome, cursor=f"batch {number}")
                bar.update(outcome.read)
        finally:
            bar.close()
    return run
