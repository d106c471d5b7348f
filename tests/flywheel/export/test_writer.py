"""Streaming hashed files, dry runs, temp dirs and the atomic move into place."""

from __future__ import annotations

import hashlib
import json

import pytest

from flywheel.errors import Conflict
from flywheel.export.writer import (
    MARKER,
    JsonArrayFile,
    JsonlFile,
    finish,
    is_orphan,
    move_into_place,
    stale_temp_dirs,
    temp_dir,
)


def test_a_file_is_hashed_and_counted_as_it_is_written(tmp_path):
    out = JsonlFile(tmp_path, "sft/train.jsonl")
    for i in range(3):
        out.add(json.dumps({"i": i}).encode() + b"\n")
    info = out.close()
    data = (tmp_path / "sft/train.jsonl").read_bytes()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.sha1 == hashlib.sha1(data).hexdigest()  # noqa: S324 (LLaMA-Factory's field)
    assert (info.rows, info.bytes) == (3, len(data))


def test_a_dry_run_file_gives_the_same_hashes_and_writes_nothing(tmp_path):
    real, dry = JsonlFile(tmp_path, "a.jsonl"), JsonlFile(None, "a.jsonl")
    for out in (real, dry):
        out.add(b'{"x": 1}\n')
    assert real.close() == dry.close()
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_a_json_array_file_is_valid_json_whatever_its_length(tmp_path, rows):
    out = JsonArrayFile(tmp_path, "sft.json")
    for i in range(rows):
        out.add(json.dumps({"i": i}).encode() + b"\n")
    info = out.close()
    assert json.loads((tmp_path / "sft.json").read_text()) == [{"i": i} for i in range(rows)]
    assert info.rows == rows


def test_stale_temp_dirs_of_a_project_are_found_but_never_another_projects(tmp_path):
    mine = temp_dir(tmp_path, "acme-v3")
    theirs = temp_dir(tmp_path, "acme-v2-v1")  # project "acme-v2", release 1
    (tmp_path / "acme-v1").mkdir()
    assert stale_temp_dirs(tmp_path, "acme") == [mine]
    assert stale_temp_dirs(tmp_path, "acme-v2") == [theirs]


def test_moving_into_place_is_one_rename_marked_until_the_row_is_committed(tmp_path):
    tmp = temp_dir(tmp_path, "acme-v1")
    (tmp / "manifest.json").write_text("{}")
    target = tmp_path / "acme-v1"
    move_into_place(tmp, target)
    assert not tmp.exists() and (target / "manifest.json").read_text() == "{}"
    assert is_orphan(target) and (target / MARKER).exists()
    finish(target)
    assert not is_orphan(target)


def test_an_existing_release_directory_is_never_overwritten(tmp_path):
    (tmp_path / "acme-v1").mkdir()
    tmp = temp_dir(tmp_path, "acme-v1")
    with pytest.raises(Conflict, match="never overwritten"):
        move_into_place(tmp, tmp_path / "acme-v1")
    assert tmp.exists()
