"""The release reader holds a release to docs/release-format.md; bad ones are refused before a model loads."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.training.conftest import TINY_CONFIG
from tests.training.release_factory import write_release
from training.errors import ReleaseError
from training.release import release_load


@pytest.fixture
def release(tmp_path: Path, release_dir: Path) -> Path:
    """A private copy of the session's factory release, free to break."""
    return Path(shutil.copytree(release_dir, tmp_path / "release"))


def rewrite(release: Path, name: str, rows: list[dict], *, update_manifest: bool = True) -> None:
    """Replace a split's rows; with update_manifest the sha256 and row count stay consistent."""
    path = release / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if update_manifest:
        manifest = json.loads((release / "manifest.json").read_text())
        manifest["files"][name] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "rows": len(rows)}
        (release / "manifest.json").write_text(json.dumps(manifest))


def rows_of(release: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (release / name).read_text().split("\n") if line.strip()]


def test_a_factory_release_loads_with_its_rows_and_manifest_hash(release_dir: Path) -> None:
    loaded = release_load(release_dir, method="sft")
    assert loaded.release_id == "factory-v1"
    assert [len(loaded.rows[s]) for s in ("train", "val", "test")] == [42, 40, 40]
    assert loaded.manifest_sha256 == hashlib.sha256((release_dir / "manifest.json").read_bytes()).hexdigest()
    dpo = release_load(release_dir, method="dpo")
    assert {"prompt", "chosen", "rejected", "meta"} == set(dpo.rows["test"][0])


def test_a_row_whose_text_holds_a_unicode_line_separator_is_one_row(release: Path) -> None:
    # JSON leaves U+2028 / U+2029 / U+0085 unescaped (ensure_ascii=False); they are not line breaks.
    rows = rows_of(release, "sft/test.jsonl")
    rows[1]["messages"][-1]["content"] = "first part\u2028second part\u2029third\x85end"
    path = release / "sft" / "test.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"]["sft/test.jsonl"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (release / "manifest.json").write_text(json.dumps(manifest))
    loaded = release_load(release, method="sft")
    assert len(loaded.rows["test"]) == 40
    assert loaded.rows["test"][1]["messages"][-1]["content"].startswith("first part\u2028second")


def test_a_missing_file_is_refused_naming_the_file(release: Path) -> None:
    (release / "sft" / "val.jsonl").unlink()
    with pytest.raises(ReleaseError, match=r"sft/val\.jsonl: listed in manifest\.json but missing"):
        release_load(release, method="sft")


def test_a_file_changed_after_export_is_refused_for_its_sha256(release: Path) -> None:
    with (release / "sft" / "train.jsonl").open("a") as f:
        f.write("\n")
    with pytest.raises(ReleaseError, match=r"sft/train\.jsonl: sha256 \w+ does not match manifest\.json"):
        release_load(release, method="sft")


def test_a_changed_llamafactory_file_also_refuses_the_release(release: Path) -> None:
    (release / "llamafactory" / "sft.json").write_text("[]")
    with pytest.raises(ReleaseError, match=r"llamafactory/sft\.json: sha256"):
        release_load(release, method="dpo")


def test_a_row_count_that_disagrees_with_the_manifest_is_refused(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"]["sft/test.jsonl"]["rows"] = 41
    (release / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReleaseError, match=r"sft/test\.jsonl: 40 rows, manifest\.json says 41"):
        release_load(release, method="sft")


def test_a_row_with_wrong_columns_is_refused_naming_file_and_line(release: Path) -> None:
    rows = rows_of(release, "sft/train.jsonl")
    rows[2] = {"prompt": "hi", "completion": "there", "meta": rows[2]["meta"]}
    rewrite(release, "sft/train.jsonl", rows)
    with pytest.raises(ReleaseError) as refused:
        release_load(release, method="sft")
    message = str(refused.value)
    assert "sft/train.jsonl line 3: missing column(s) ['messages']; " in message
    assert (
        "unexpected column(s) ['completion', 'prompt'] (a sft row has exactly ['messages', 'meta'])"
        in message
    )


def test_an_sft_row_not_ending_with_the_assistant_is_refused(release: Path) -> None:
    rows = rows_of(release, "sft/test.jsonl")
    rows[0]["messages"] = rows[0]["messages"][:-1]
    rewrite(release, "sft/test.jsonl", rows)
    with pytest.raises(
        ReleaseError, match=r"sft/test\.jsonl line 1: the last message of 'messages' must be the assistant"
    ):
        release_load(release, method="sft")


def test_a_dpo_row_with_two_chosen_messages_is_refused(release: Path) -> None:
    rows = rows_of(release, "dpo/val.jsonl")
    rows[4]["chosen"] = rows[4]["chosen"] * 2
    rewrite(release, "dpo/val.jsonl", rows)
    with pytest.raises(
        ReleaseError, match=r"dpo/val\.jsonl line 5: 'chosen' must be a list with one assistant message"
    ):
        release_load(release, method="dpo")


def test_meta_without_a_key_training_reads_is_refused(release: Path) -> None:
    rows = rows_of(release, "sft/train.jsonl")
    del rows[6]["meta"]["must_refuse"]
    rows[7]["meta"]["output_format"] = "yaml"
    rewrite(release, "sft/train.jsonl", rows)
    with pytest.raises(ReleaseError) as refused:
        release_load(release, method="sft")
    assert "sft/train.jsonl line 7: meta.must_refuse is missing" in str(refused.value)
    assert "sft/train.jsonl line 8: meta.output_format must be one of ['json', 'text']" in str(refused.value)


def test_a_json_task_whose_golden_answer_does_not_parse_is_refused(release: Path) -> None:
    rows = rows_of(release, "sft/train.jsonl")
    assert rows[0]["meta"]["output_format"] == "json"
    rows[0]["messages"][-1]["content"] = '{"order_id": "A-1'
    rewrite(release, "sft/train.jsonl", rows)
    with pytest.raises(ReleaseError, match=r"sft/train\.jsonl line 1: the golden answer of a JSON task"):
        release_load(release, method="sft")


def test_a_line_that_is_not_json_is_refused_with_its_line_number(release: Path) -> None:
    path = release / "sft" / "val.jsonl"
    lines = path.read_text().splitlines()
    lines[9] = lines[9][:-1]
    path.write_text("\n".join(lines) + "\n")
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"]["sft/val.jsonl"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (release / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReleaseError, match=r"sft/val\.jsonl line 10: not valid JSON"):
        release_load(release, method="sft")


def test_a_held_out_row_that_is_also_in_train_is_refused(release: Path) -> None:
    rows = rows_of(release, "sft/test.jsonl")
    rows[11]["meta"]["id"] = "train-3"
    rewrite(release, "sft/test.jsonl", rows)
    with pytest.raises(ReleaseError) as refused:
        release_load(release, method="sft")
    message = str(refused.value)
    assert "sft/test.jsonl line 12: meta.id 'train-3' is also in sft/train.jsonl;" in message
    assert "held-out rows must not be trained on" in message


def test_a_split_the_manifest_does_not_list_is_refused(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    del manifest["files"]["dpo/test.jsonl"]
    (release / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReleaseError, match=r"manifest\.json: 'files' has no entry for dpo/test\.jsonl"):
        release_load(release, method="dpo")


def test_a_directory_without_manifest_is_not_a_release(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"manifest\.json is missing"):
        release_load(tmp_path, method="sft")


def test_problems_are_listed_together_up_to_a_limit(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r", rows_per_split=20, long_rows=False)
    rows = rows_of(release, "sft/train.jsonl")
    for row in rows:
        row["meta"]["task_type"] = 3
    rewrite(release, "sft/train.jsonl", rows)
    with pytest.raises(ReleaseError) as refused:
        release_load(release, method="sft")
    message = str(refused.value)
    assert message.startswith("release refused (20 problem(s)):")
    assert "... and 10 more" in message


def test_a_bad_release_is_refused_by_the_cli_before_the_tokenizer_or_model_loads(
    release: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from training import runner
    from training.cli import main

    def must_not_load(*args, **kwargs):
        raise AssertionError("a model or tokenizer was loaded for a bad release")

    monkeypatch.setattr(runner, "tokenizer_load", must_not_load)
    monkeypatch.setattr(runner, "model_load", must_not_load)
    (release / "sft" / "test.jsonl").unlink()
    code = main(
        ["sft", "--release", str(release), "--config", str(TINY_CONFIG), "--base_model=/no/such/model",
         "--output", str(release.parent / "run")]
    )  # fmt: skip
    assert code == 3
    assert "sft/test.jsonl: listed in manifest.json but missing" in capsys.readouterr().err
    assert not (release.parent / "run").exists()


def test_resuming_a_run_on_a_different_release_is_refused(
    release: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from training import runner
    from training.cli import main

    def must_not_load(*args, **kwargs):
        raise AssertionError("a tokenizer was loaded")

    monkeypatch.setattr(runner, "tokenizer_load", must_not_load)
    run_dir = release.parent / "run"
    (run_dir / "checkpoints" / "checkpoint-4").mkdir(parents=True)
    (run_dir / "run_manifest.json").write_text(json.dumps({"release": {"manifest_sha256": "0" * 64}}))
    code = main(
        ["sft", "--release", str(release), "--config", str(TINY_CONFIG), "--base_model=/no/such/model",
         "--output", str(run_dir), "--resume"]
    )  # fmt: skip
    assert code == 2
    assert "was started on another release (manifest sha256 000000000000)" in capsys.readouterr().err
