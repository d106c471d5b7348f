"""Raw annotations out of a project and back in: ``annotations export`` / ``annotations import``.

    python manage.py annotations export --project acme --format csv --out acme.csv --sop 2 [--from 2026-03-01]
    python manage.py annotations import --project acme acme-offline.csv

Export streams every annotation (all statuses and rounds) and writes the file atomically (a
temporary file renamed at the end), or to stdout. Import validates every row first and writes
all of them or none; a re-run of the same file creates nothing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from annotate.agreement_filters import agreement_filters
from annotate.annotations_file import FileFormat, export_lines, parse_format, read_rows, sniff_format
from annotate.selectors_annotations import annotation_count, annotation_rows, export_fields
from annotate.services.annotation_import import ImportRejected, annotations_import
from flywheel.errors import InvalidInput, NotFound
from flywheel.management.base import FlywheelCommand
from flywheel.models import Project
from flywheel.paths import output_file, plain_path

NO_PROJECT = "No project named '{name}'."
NO_FILE = "No file at {path}."
SHOWN_ERRORS = 20


class Command(FlywheelCommand):
    help = (
        "Export a project's raw annotations (CSV/JSON) for offline analysis, or import offline annotations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="Every annotation, one row each.")
        export.add_argument("--project", required=True)
        export.add_argument("--format", default="csv", choices=[f.value for f in FileFormat])
        export.add_argument("--out", metavar="FILE", help="Write here (atomically) instead of stdout.")
        export.add_argument("--sop", help="Only these SOP versions, e.g. 2,3.")
        export.add_argument("--cluster", help="Only these clusters, e.g. C12,C4.")
        export.add_argument("--from", dest="since", help="Submitted on or after (date or ISO time).")
        export.add_argument("--to", dest="until", help="Submitted up to (a date: inclusive).")
        export.add_argument("--no-progress", action="store_true")
        load = actions.add_parser("import", help="Annotations made offline, for existing tasks.")
        load.add_argument("--project", required=True)
        load.add_argument("file", metavar="FILE")
        load.add_argument("--format", choices=[f.value for f in FileFormat], help="Default: from the file.")
        load.add_argument("--no-progress", action="store_true")

    def run(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise NotFound(NO_PROJECT.format(name=options["project"]))
        if options["action"] == "export":
            self._export(project, options)
        else:
            self._import(project, options)

    def _export(self, project: Project, options: dict[str, Any]) -> None:
        params = {"sop": options.get("sop"), "cluster": options.get("cluster")}
        params.update({"from": options.get("since"), "to": options.get("until")})
        filters = agreement_filters({k: v for k, v in params.items() if v})
        fmt = parse_format(options["format"])
        total = annotation_count(project=project, filters=filters)
        bar = tqdm(
            total=total, unit="annotations", disable=not self.progress_enabled(options), file=sys.stderr
        )
        rows = annotation_rows(project=project, filters=filters)

        def counted() -> Any:
            for row in rows:
                bar.update(1)
                yield row

        lines = export_lines(counted(), fmt, export_fields(project))
        out = options.get("out")
        try:
            if out:
                _write_atomically(output_file(out, what="--out file"), lines)
            else:
                for piece in lines:
                    self.stdout.write(piece, ending="")
        finally:
            bar.close()
        if out:
            self.stderr.write(f"{total} annotations of {project.name} written to {out}")

    def _import(self, project: Project, options: dict[str, Any]) -> None:
        path = plain_path(options["file"], what="annotations file")
        if not path.is_file():
            raise NotFound(NO_FILE.format(path=path))
        with path.open("rb") as handle:
            fmt = parse_format(options["format"]) if options.get("format") else _format_of(path, handle)
            bar = tqdm(unit="rows", disable=not self.progress_enabled(options), file=sys.stderr)
            try:
                result = annotations_import(project=project, rows=read_rows(handle, fmt), progress=bar.update)
            except ImportRejected as exc:
                for error in exc.errors[:SHOWN_ERRORS]:
                    where = f"row {error.row}" + (f" (line {error.line})" if error.line else "")
                    self.stderr.write(f"{where}, {error.field}: {error.message}")
                if len(exc.errors) > SHOWN_ERRORS:
                    self.stderr.write(f"... and {len(exc.errors) - SHOWN_ERRORS} more")
                raise
            finally:
                bar.close()
        self.stdout.write(json.dumps(result.to_dict()))


def _format_of(path: Path, handle: Any) -> FileFormat:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return FileFormat.CSV
    if suffix in (".json", ".jsonl"):
        return FileFormat.JSON
    head = handle.read(64)
    handle.seek(0)
    return sniff_format(head)


def _write_atomically(path: Path, pieces: Any) -> None:
    """Written to a temporary file beside ``path``, renamed over it only once complete."""
    if not path.parent.is_dir():
        raise InvalidInput(f"No directory {path.parent} to write {path.name} into.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            for piece in pieces:
                handle.write(piece)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
