"""Langfuse export files -> ingestion records, streamed with bounded memory.

Reads what Langfuse writes, recognised from the extension and the columns:

- UI batch exports of traces or observations: ``.json`` (one array), ``.jsonl``, ``.csv``;
- the UI "download trace" JSON ``{"trace": {...}, "observations": [...]}`` (one object,
  an array of them, or one per line);
- blob-storage exports of the ``traces``, ``observations``, ``observations_v2`` and
  ``scores`` tables: ``.json``, ``.jsonl``, ``.csv`` (each optionally ``.gz``), ``.parquet``.

A malformed row becomes a :class:`Rejected` and reading goes on; only a file that is not a
Langfuse export at all raises :class:`InvalidInput`. No Django import: the ingest service
feeds these records to the ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from flywheel.errors import InvalidInput, NotFound
from flywheel.ingest.files.detect import KIND, LOAD_ORDER, Table, detect_table
from flywheel.ingest.files.readers import Container, Row, container_of, read
from flywheel.ingest.files.tables import RowMapper
from flywheel.ingest.records import Rejected, SourceItem, TraceRecord

__all__ = ["SUPPORTED_FORMATS", "ExportFile", "Table", "iter_file", "iter_files", "open_export"]

SUPPORTED_FORMATS = (
    "Langfuse UI exports of traces or observations (.json, .jsonl, .csv), "
    'download-trace JSON ({"trace": ..., "observations": [...]}), and blob-storage exports of '
    "traces, observations, observations_v2 or scores (.json, .jsonl, .csv, each optionally .gz, "
    "or .parquet)"
)
UNKNOWN_CONTAINER = "{name} is not JSON, JSON Lines, CSV or Parquet."
UNKNOWN_TABLE = "{name} does not look like a Langfuse export: its first row has none of the expected columns."
MISSING_FILE = "{name} does not exist."
HINT = f"Supported: {SUPPORTED_FORMATS}."


@dataclass(frozen=True)
class ExportFile:
    """A recognised export file. ``table`` is None when no row could be read to tell."""

    path: Path
    container: Container
    compressed: bool
    table: Table | None

    @property
    def load_order(self) -> int:
        return LOAD_ORDER[KIND[self.table]] if self.table else len(LOAD_ORDER)

    def records(self) -> Iterator[SourceItem]:
        mapper = RowMapper(self.table, self.path.name)
        for item in read(self.path, self.container, self.compressed):
            if isinstance(item, Row):
                yield from mapper.map(item.value, item.number)
            else:
                kind = KIND[self.table] if self.table else "unknown"
                yield Rejected(kind, item.reason, mapper.location(item.number))


def open_export(path: Path) -> ExportFile:
    """Recognise ``path`` by reading its start. Raises InvalidInput for a non-export."""
    if not path.is_file():
        raise NotFound(MISSING_FILE.format(name=path))
    container = container_of(path)
    if container is None:
        raise InvalidInput(UNKNOWN_CONTAINER.format(name=path.name), hint=HINT)
    export = ExportFile(path, container[0], container[1], None)
    # The first readable object decides; rows before it are unreadable or not objects and
    # are reported as such when the file is read.
    with closing(read(path, export.container, export.compressed)) as items:
        for item in items:
            if isinstance(item, Row) and isinstance(item.value, dict):
                table = detect_table(item.value.keys(), path)
                if table is None:
                    raise InvalidInput(UNKNOWN_TABLE.format(name=path.name), hint=HINT)
                return ExportFile(path, export.container, export.compressed, table)
    return export


def iter_file(path: Path) -> Iterator[SourceItem]:
    """Every record in one export file, in file order.

    Raises InvalidInput (or NotFound) now, before the first record, if the file is not a
    Langfuse export; malformed rows come out as :class:`Rejected` instead.
    """
    return open_export(path).records()


def iter_files(paths: Iterable[Path]) -> Iterator[SourceItem]:
    """Records from several files: trace files, then observation files, then score files.

    Every file is recognised before the first record, so a wrong file fails the whole
    call early instead of after the others were half loaded. A trace announced by an
    observation file is skipped when a trace file in the same call already gave it whole.
    """
    exports = sorted((open_export(path) for path in paths), key=lambda export: export.load_order)
    return _chain(exports)


def _chain(exports: list[ExportFile]) -> Iterator[SourceItem]:
    # An observation file describes its traces only partly (no I/O). Where a trace file in
    # the same call gave the whole trace, such a TraceRecord would overwrite it with less.
    complete: set[str] = set()
    for export in exports:
        from_trace_file = export.load_order == LOAD_ORDER["trace"]
        for item in export.records():
            if isinstance(item, TraceRecord):
                if from_trace_file:
                    complete.add(item.id)
                elif item.id in complete:
                    continue
            yield item
