"""Streaming, hashed, atomic writes of a release directory.

Rows go straight to disk through a 1 MiB buffer while sha256 (and LLaMA-Factory's sha1) are
computed on the way, so memory does not grow with the release. A release is built in a temp
directory beside its target (same file system), every file fsynced, then renamed into place in
one step: readers see either no release or a whole one. A ``.publishing`` marker stays inside
until the database row exists, so a directory left by a run killed between the rename and the
commit can be told apart from a real release and cleaned up by the next run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flywheel.errors import Conflict

BUFFER = 1 << 20
MARKER = ".publishing"
TARGET_EXISTS = "{path} already exists; a release directory is never overwritten."
TARGET_EXISTS_HINT = (
    "It has no release row (was the row deleted?). Move the directory away, or export to another "
    "--out directory."
)


@dataclass(frozen=True)
class FileInfo:
    name: str  # relative to the release root, with "/"
    sha256: str
    sha1: str
    rows: int | None
    bytes: int

    def manifest_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"sha256": self.sha256}
        if self.rows is not None:
            entry["rows"] = self.rows
        entry["bytes"] = self.bytes
        if self.name.startswith("llamafactory/"):
            entry["sha1"] = self.sha1
        return entry


class HashedFile:
    """A file written once, front to back; ``root=None`` hashes and counts without writing (dry run)."""

    def __init__(self, root: Path | None, name: str, *, rows: bool = True) -> None:
        self.name = name
        self._sha256 = hashlib.sha256()
        self._sha1 = hashlib.sha1(usedforsecurity=False)  # LLaMA-Factory's file_sha1
        self._bytes = 0
        self._rows: int | None = 0 if rows else None
        self._file: BinaryIO | None = None
        if root is not None:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "wb", buffering=BUFFER)  # noqa: SIM115 (closed in close())

    def write(self, data: bytes, *, row: bool = False) -> None:
        self._sha256.update(data)
        self._sha1.update(data)
        self._bytes += len(data)
        if row and self._rows is not None:
            self._rows += 1
        if self._file is not None:
            self._file.write(data)

    def close(self) -> FileInfo:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
        return FileInfo(self.name, self._sha256.hexdigest(), self._sha1.hexdigest(), self._rows, self._bytes)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class JsonlFile(HashedFile):
    def add(self, line: bytes) -> None:
        self.write(line, row=True)


class JsonArrayFile(HashedFile):
    """A JSON array written one element per line: ``[\\n{...},\\n{...}\\n]\\n``."""

    def __init__(self, root: Path | None, name: str) -> None:
        super().__init__(root, name)
        self.write(b"[")
        self._first = True

    def add(self, line: bytes) -> None:
        """``line``: one element as produced by ``formats.dumps_line`` (ends with a newline)."""
        self.write((b"\n" if self._first else b",\n") + line.rstrip(b"\n"), row=True)
        self._first = False

    def close(self) -> FileInfo:
        self.write(b"]\n" if self._first else b"\n]\n")
        return super().close()


def write_file(root: Path | None, name: str, data: bytes) -> FileInfo:
    out = HashedFile(root, name, rows=False)
    out.write(data)
    return out.close()


TEMP_PREFIX = ".tmp-"


def temp_dir(parent: Path, release_id: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{release_id}-", dir=parent))


def stale_temp_dirs(parent: Path, project: str) -> list[Path]:
    """Temp dirs a crashed or killed export of ``project`` left behind (never another project's)."""
    pattern = re.compile(rf"{re.escape(TEMP_PREFIX)}{re.escape(project)}-v\d+-[a-z0-9_]+")
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and pattern.fullmatch(p.name))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_orphan(path: Path) -> bool:
    """A release directory whose publishing run died before its database row was committed."""
    return path.is_dir() and (path / MARKER).exists()


def move_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished temp dir to ``target`` (same file system), durably."""
    if target.exists():
        raise Conflict(TARGET_EXISTS.format(path=target), hint=TARGET_EXISTS_HINT)
    (tmp / MARKER).write_text(f"pid {os.getpid()}\n")
    for directory in sorted({p.parent for p in tmp.rglob("*")} | {tmp}, key=lambda p: len(p.parts)):
        fsync_dir(directory)
    os.rename(tmp, target)
    fsync_dir(target.parent)


def finish(target: Path) -> None:
    """The database row is committed: the directory is a release now."""
    (target / MARKER).unlink(missing_ok=True)
    fsync_dir(target)
