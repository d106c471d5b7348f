"""A scratch file of the selected items' prepared rows, so the second pass reads them in any order.

The first pass sees items in database order, turns each into the bytes of its release rows and
the few facts the checks need (:class:`Prepared`), appends them here and keeps only numpy
arrays of codes in memory; the second pass reads them back in item-key order and copies bytes.
Reading from this file (instead of the database) also pins the release to one snapshot: a label
decided meanwhile cannot slip into the second pass. The file is ours, written and read by the
same process, and deleted with the temp directory.
"""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path
from typing import NamedTuple

_LENGTH = struct.Struct("<I")
_GUESS = 8192  # one read covers most records
WRITE_BUFFER = 1 << 20


class Facts(NamedTuple):
    """What the tally and the leak check read of an item (attribute names as on ``ExportItem``)."""

    item_key: str
    group_key: str
    trace_key: str | None
    sample_type: str
    task_type: str
    cluster: str | None
    difficulty: str | None
    origin: str
    output_format: str
    must_refuse: bool
    sop_version: int | None
    annotators: tuple[str, ...]
    annotator: str | None
    reviewer: str | None
    decision: str


class Prepared(NamedTuple):
    """One item, ready to write: its row bytes, its texts for the PII gate, its JSON verdict."""

    facts: Facts
    sft: bytes
    dpo: bytes | None
    alpaca_sft: bytes | None  # None: left out of the Alpaca files (see ``alpaca_skipped``)
    alpaca_dpo: bytes | None
    alpaca_skipped: str | None
    content: bytes  # formats.content_digest
    texts: tuple[str, ...]  # formats.item_texts
    json_problem: str | None
    json_answer: bool  # a JSON answer the JSON check applies to


class Spill:
    """Length-prefixed pickles appended to a file; read back with ``pread`` (no mapping, so the
    process's memory stays the record being read, not the file)."""

    def __init__(self, path: Path) -> None:
        # A large buffer: records are a few KB, and one write syscall each cost more than the pickling.
        self._file = open(path, "w+b", buffering=WRITE_BUFFER)  # noqa: SIM115 (closed in close())
        self._end = 0
        self._flushed = True

    def append(self, record: Prepared) -> int:
        """Store ``record``; returns its offset for :meth:`read`."""
        data = pickle.dumps((tuple(record.facts), *record[1:]), protocol=pickle.HIGHEST_PROTOCOL)
        offset = self._end
        self._file.write(_LENGTH.pack(len(data)))
        self._file.write(data)
        self._end += _LENGTH.size + len(data)
        self._flushed = False
        return offset

    def read(self, offset: int) -> Prepared:
        if not self._flushed:
            self._file.flush()
            self._flushed = True
        fd = self._file.fileno()
        head = os.pread(fd, _GUESS, offset)
        (length,) = _LENGTH.unpack_from(head)
        data = head[_LENGTH.size : _LENGTH.size + length]
        if len(data) < length:
            data += os.pread(fd, length - len(data), offset + _LENGTH.size + len(data))
        facts, *rest = pickle.loads(data)  # noqa: S301 (our own scratch file, see above)
        return Prepared(Facts(*facts), *rest)

    def close(self) -> None:
        self._file.close()
