"""A scratch file of the selected items, so the second pass reads them in any order from disk.

The first pass sees items in database order and keeps only a slim index in memory; the rows are
written in item-key order. Reading the items back from this file (instead of the database) also
pins the release to one snapshot: a label decided meanwhile cannot slip into the second pass.
The file is ours, written and read by the same process, and deleted with the temp directory.
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
import struct
from pathlib import Path

from flywheel.export.records import ExportItem

_LENGTH = struct.Struct("<I")
_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(ExportItem)))


class Spill:
    def __init__(self, path: Path) -> None:
        self._file = open(path, "w+b")  # noqa: SIM115 (closed in close())
        self._end = 0

    def append(self, item: ExportItem) -> int:
        """Store ``item``; returns its offset for :meth:`read`."""
        # A plain tuple pickles several times faster than a frozen slots dataclass.
        data = pickle.dumps(_VALUES(item), protocol=pickle.HIGHEST_PROTOCOL)
        offset = self._end
        self._file.seek(offset)
        self._file.write(_LENGTH.pack(len(data)) + data)
        self._end += _LENGTH.size + len(data)
        return offset

    def read(self, offset: int) -> ExportItem:
        self._file.seek(offset)
        (length,) = _LENGTH.unpack(self._file.read(_LENGTH.size))
        values = pickle.loads(self._file.read(length))  # noqa: S301 (our own scratch file, see above)
        return ExportItem(*values)

    def close(self) -> None:
        self._file.close()
