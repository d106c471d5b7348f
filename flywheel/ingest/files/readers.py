"""Streaming readers: one export file -> decoded rows, with bounded memory.

Each reader yields :class:`Row` (a decoded value, usually a dict) or :class:`Unreadable`
(a line, item or the rest of the file could not be decoded). Readers never raise for bad
content, so a broken row costs that row only; where the format cannot resynchronise (a
JSON array, a gzip stream) the rest of the file becomes one ``Unreadable``.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

_CHUNK_CHARS = 1 << 16
# A JSON item larger than this is reported instead of buffered until the end of the file;
# one real trace with huge I/O stays well below it.
MAX_ITEM_CHARS = 64 << 20
_PARQUET_BATCH_ROWS = 1000
_NON_WS = re.compile(r"\S")
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
_REST_LOST = "the rest of the file was not read"
GZIP_BROKEN = f"gzip stream is corrupt or truncated; {_REST_LOST}"
NOT_UTF8 = f"file is not valid UTF-8; {_REST_LOST}"


class Container(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # JSONL/CSV: line where the row starts; JSON: item index; Parquet: row index
    value: Any


@dataclass(frozen=True, slots=True)
class Unreadable:
    number: int
    reason: str  # says where and what, never the bytes it could not read


ReadItem = Row | Unreadable


_EXTENSIONS = {
    "json": Container.JSON,
    "jsonl": Container.JSONL,
    "ndjson": Container.JSONL,
    "csv": Container.CSV,
    "parquet": Container.PARQUET,
}
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


def container_of(path: Path) -> tuple[Container, bool] | None:
    """The container and whether it is gzipped: from the extension, else the first bytes."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    stem = name.removesuffix(".gz")
    container = _EXTENSIONS.get(stem.rsplit(".", 1)[-1]) if "." in stem else None
    if container is not None:
        return (container, compressed) if container is not Container.PARQUET or not compressed else None
    return _sniff(path)


def _sniff(path: Path) -> tuple[Container, bool] | None:
    with path.open("rb") as stream:
        head = stream.read(4)
    if head == _PARQUET_MAGIC:
        return Container.PARQUET, False
    compressed = head.startswith(_GZIP_MAGIC)
    try:
        with _open_binary(path, compressed) as stream:
            start = stream.read(4096).lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
    except _GZIP_ERRORS:
        return None
    if start[:1] in (b"[", b"{"):
        # JSON handles one value, an array and values one after another (JSONL too).
        return Container.JSON, compressed
    if start[:1] == b'"':
        return Container.CSV, compressed
    return None


def read(path: Path, container: Container, compressed: bool) -> Generator[ReadItem, None, None]:
    if container is Container.PARQUET:
        return _parquet_rows(path)
    if container is Container.JSONL:
        return _jsonl_rows(path, compressed)
    if container is Container.CSV:
        return _csv_rows(path, compressed)
    return _json_items(path, compressed)


def _open_binary(path: Path, compressed: bool) -> IO[bytes]:
    return cast(IO[bytes], gzip.open(path, "rb")) if compressed else path.open("rb")


def _open_text(path: Path, compressed: bool) -> IO[str]:
    # utf-8-sig drops the BOM spreadsheet tools put in front of CSV files.
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _jsonl_rows(path: Path, compressed: bool) -> Generator[ReadItem, None, None]:
    number = 0
    with _open_binary(path, compressed) as stream:
        try:
            # Binary lines, decoded one by one, so a bad byte costs one line, not the file.
            for number, line in enumerate(stream, 1):
                stripped = line.strip().removeprefix(b"\xef\xbb\xbf")
                if not stripped:
                    continue
                try:
                    yield Row(number, json.loads(stripped))
                except UnicodeDecodeError:
                    yield Unreadable(number, "line is not valid UTF-8")
                except json.JSONDecodeError as error:
                    where = f"{_what(error)} at column {error.colno}"
                    yield Unreadable(number, f"line is not valid JSON ({where})")
                except RecursionError:  # json recurses per level: ~1,000 raise this, not ValueError
                    yield Unreadable(number, "line is nested too deeply to read (hundreds of levels)")
        except _GZIP_ERRORS:
            yield Unreadable(number + 1, GZIP_BROKEN)


def _csv_rows(path: Path, compressed: bool) -> Generator[ReadItem, None, None]:
    # Langfuse puts whole traces in one cell; the csv module's default limit is 128 KiB.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    start = 1
    with _open_text(path, compressed) as stream:
        reader = csv.reader(stream, strict=True)
        header: list[str] | None = None
        try:
            while True:
                start = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    yield Unreadable(start, f"CSV row is malformed ({error})")
                    continue
                if not cells:
                    continue
                if header is None:
                    header = cells
                elif len(cells) != len(header):
                    yield Unreadable(start, f"CSV row has {len(cells)} fields, the header has {len(header)}")
                else:
                    # Langfuse writes null as an empty field.
                    yield Row(start, {key: cell or None for key, cell in zip(header, cells, strict=True)})
        except UnicodeDecodeError:
            yield Unreadable(start, NOT_UTF8)
        except _GZIP_ERRORS:
            yield Unreadable(start, GZIP_BROKEN)


def _parquet_rows(path: Path) -> Generator[ReadItem, None, None]:
    # Imported here so reading JSON or CSV never pays for pyarrow.
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    try:
        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                for row in batch.to_pylist():
                    number += 1
                    yield Row(number, row)
    except (pa.ArrowException, OSError):
        yield Unreadable(number + 1, f"Parquet data is corrupt or truncated; {_REST_LOST}")


def _what(error: json.JSONDecodeError) -> str:
    # The pure-Python decoder appends the offending characters after a colon.
    return error.msg.split(":")[0]


class _TextBuffer:
    """A sliding window over a text stream, for ``raw_decode``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front, for error positions
        self.eof = False

    def fill(self, size: int = _CHUNK_CHARS) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(size)
        if not chunk:
            self.eof = True
            return False
        if self.pos > _CHUNK_CHARS:
            self.offset += self.pos
            self.text = self.text[self.pos :]
            self.pos = 0
        self.text += chunk
        return True

    def next_char(self) -> str | None:
        """Skip whitespace; the next significant character, or None at the end."""
        while True:
            match = _NON_WS.search(self.text, self.pos)
            if match:
                self.pos = match.start()
                return self.text[self.pos]
            self.pos = len(self.text)
            if not self.fill():
                return None

    def decode(self, decoder: json.JSONDecoder) -> Any:
        size = _CHUNK_CHARS
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                # Most failures mean "the item continues in the next chunk". Read
                # geometrically more so a large item costs O(size), not O(size^2).
                if len(self.text) - self.pos > MAX_ITEM_CHARS or not self.fill(size):
                    raise
                size *= 2
                continue
            # A number at the very end of the window may continue in the next chunk.
            if end == len(self.text) and self.fill():
                continue
            self.pos = end
            return value


def _json_items(path: Path, compressed: bool) -> Generator[ReadItem, None, None]:
    """A JSON array item by item, or one or more top-level values one after another."""
    decoder = json.JSONDecoder()
    number = 0
    with _open_text(path, compressed) as stream:
        buffer = _TextBuffer(stream)
        try:
            first = buffer.next_char()
            in_array = first == "["
            if in_array:
                buffer.pos += 1
            while True:
                char = buffer.next_char()
                if in_array and char == "]":
                    return
                if char is None:
                    if in_array:
                        yield Unreadable(number + 1, f"JSON array is truncated after item {number}")
                    return
                if in_array and number:
                    if char != ",":
                        yield Unreadable(number + 1, f"JSON is malformed after item {number}; {_REST_LOST}")
                        return
                    buffer.pos += 1
                    if buffer.next_char() is None:
                        yield Unreadable(number + 1, f"JSON array is truncated after item {number}")
                        return
                number += 1
                try:
                    value = buffer.decode(decoder)
                except json.JSONDecodeError as error:
                    where = buffer.offset + error.pos
                    yield Unreadable(
                        number,
                        f"JSON item is malformed or truncated ({_what(error)} at character {where}); "
                        f"{_REST_LOST}",
                    )
                    return
                except RecursionError:  # json recurses per level: ~1,000 raise this, not ValueError
                    yield Unreadable(number, f"JSON item is nested too deeply to read; {_REST_LOST}")
                    return
                yield Row(number, value)
        except UnicodeDecodeError:
            yield Unreadable(number + 1, NOT_UTF8)
        except _GZIP_ERRORS:
            yield Unreadable(number + 1, GZIP_BROKEN)
