"""The download: a release as a streamed .tar.gz holding manifest.json and exactly the files it lists."""

from __future__ import annotations

import io
import json
import tarfile

from flywheel.export.archive import tar_gz_stream
from tests.flywheel.export.items import make_items


def test_the_archive_holds_the_manifest_and_its_files_byte_for_byte_and_nothing_else(build):
    _, root = build(list(make_items(60)))
    (root / "stray.txt").write_text("not part of the release")
    chunks = list(tar_gz_stream(root, arcname="acme-v1", mtime=1_700_000_000))
    assert len(chunks) > 3  # streamed in pieces, not built in one buffer
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        names = tar.getnames()
        assert names[0] == "acme-v1/manifest.json" and "acme-v1/stray.txt" not in names
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            assert data == (root / member.name.split("/", 1)[1]).read_bytes()
            assert member.mtime == 1_700_000_000
    assert len(names) == 1 + len(json.loads((root / "manifest.json").read_text())["files"])


def test_the_same_release_gives_the_same_archive_bytes(build):
    _, root = build(list(make_items(30)))
    first = b"".join(tar_gz_stream(root, arcname="acme-v1", mtime=1))
    assert first == b"".join(tar_gz_stream(root, arcname="acme-v1", mtime=1))
