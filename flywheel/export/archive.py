"""A release directory as a .tar.gz stream, built chunk by chunk (memory stays at one read buffer).

Only ``manifest.json`` and the files it lists go in, under ``<release_id>/``, in name order, with
the release's creation time as mtime: the same release gives the same archive bytes.
"""

from __future__ import annotations

import json
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 16
BLOCK = tarfile.BLOCKSIZE


def archive_members(root: Path) -> list[str]:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return ["manifest.json", *sorted(manifest.get("files", {}))]


def tar_gz_stream(root: Path, *, arcname: str, mtime: int) -> Iterator[bytes]:
    gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip container
    for name in archive_members(root):
        path = root / name
        info = tarfile.TarInfo(f"{arcname}/{name}")
        info.size, info.mtime, info.mode = path.stat().st_size, mtime, 0o644
        info.uname = info.gname = "flywheel"
        yield gzip.compress(info.tobuf(format=tarfile.PAX_FORMAT))
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                if out := gzip.compress(chunk):
                    yield out
        yield gzip.compress(b"\0" * (-info.size % BLOCK))
    yield gzip.compress(b"\0" * (2 * BLOCK)) + gzip.flush()
