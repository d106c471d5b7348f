"""Reader and validator of an export release (the contract is docs/release-format.md).

``release_load(path, method="sft")`` checks the whole release before anything heavy happens: the
manifest, every listed file's presence, sha256 and row count, then each row of the method's splits
(columns, message shapes, the ``meta`` keys training reads, JSON golden answers that parse). A bad
release raises ``ReleaseError`` whose message names the file and line of each problem (up to
``MAX_PROBLEMS``), so the nightly job fails before a multi-GB model is loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.errors import ReleaseError

METHODS = ("sft", "dpo")
SPLITS = ("train", "val", "test")
ROLES = {"system", "user", "assistant", "tool"}
COLUMNS = {"sft": {"messages", "meta"}, "dpo": {"prompt", "chosen", "rejected", "meta"}}
# The meta keys training reads (slicing, checks); the format's other lineage keys are informative.
META_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str, int),
    "task_type": (str,),
    "difficulty": (str, type(None)),
    "source": (str, type(None)),
    "cluster": (str, type(None)),
    "sample_type": (str,),
    "must_refuse": (bool,),
    "output_format": (str,),
    "json_schema": (dict, type(None)),
    "reference_exact": (bool,),
}
OUTPUT_FORMATS = {"json", "text"}
MAX_PROBLEMS = 10

NO_DIRECTORY = "release {path} is not a directory"
NO_MANIFEST = "{path}/manifest.json is missing: not an export release (see docs/release-format.md)"
BAD_MANIFEST = "manifest.json: {problem}"
NOT_LISTED = "manifest.json: 'files' has no entry for {file}, which {method} training needs"
MISSING_FILE = "{file}: listed in manifest.json but missing from the release directory"
SHA_MISMATCH = (
    "{file}: sha256 {actual} does not match manifest.json ({expected}); the file changed after export"
)
ROW_COUNT = "{file}: {actual} rows, manifest.json says {expected}"
EMPTY_SPLIT = "{file}: no rows; a release needs train and test rows"
LEAK = (
    "{file} line {line}: meta.id {id!r} is also in {method}/train.jsonl; held-out rows must not be trained on"
)


@dataclass(frozen=True)
class Release:
    """A validated release; ``rows[split]`` are the method's rows as parsed dicts, ``meta`` included."""

    path: Path
    release_id: str
    method: str
    manifest: dict[str, Any]
    manifest_sha256: str
    rows: dict[str, list[dict[str, Any]]] = field(repr=False)

    def split_file(self, split: str) -> str:
        return f"{self.method}/{split}.jsonl"


def release_load(path: Path | str, *, method: str) -> Release:
    if method not in METHODS:
        raise ReleaseError(f"unknown training method {method!r}; choose from {METHODS}")
    root = Path(path)
    if not root.is_dir():
        raise ReleaseError(NO_DIRECTORY.format(path=root))
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise ReleaseError(NO_MANIFEST.format(path=root))
    manifest_bytes = manifest_path.read_bytes()
    manifest = _manifest_parse(manifest_bytes)
    files: dict[str, Any] = manifest["files"]
    for split in SPLITS:
        name = f"{method}/{split}.jsonl"
        if name not in files:
            raise ReleaseError(NOT_LISTED.format(file=name, method=method))
    problems = [p for name, entry in files.items() for p in _file_problems(root, name, entry)]
    if problems:
        raise ReleaseError(_summary(problems))

    numbered: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for split in SPLITS:
        name = f"{method}/{split}.jsonl"
        numbered[split], row_problems = _rows_read(root / name, name, method)
        problems += row_problems
        if not numbered[split] and split != "val" and not row_problems:
            problems.append(EMPTY_SPLIT.format(file=name))
    problems += _leak_problems(numbered, method)
    if problems:
        raise ReleaseError(_summary(problems))
    return Release(
        path=root,
        release_id=manifest["release_id"],
        method=method,
        manifest=manifest,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        rows={split: [row for _, row in numbered[split]] for split in SPLITS},
    )


def _leak_problems(numbered: dict[str, list[tuple[int, dict[str, Any]]]], method: str) -> list[str]:
    """An item in train and in val/test would be evaluated on what the model was trained on."""
    train_ids = {row["meta"]["id"] for _, row in numbered["train"]}
    problems = []
    for split in ("val", "test"):
        for number, row in numbered[split]:
            if row["meta"]["id"] in train_ids:
                problems.append(
                    LEAK.format(
                        file=f"{method}/{split}.jsonl", line=number, id=row["meta"]["id"], method=method
                    )
                )
    return problems


def _summary(problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS]
    more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    return f"release refused ({len(problems)} problem(s)):\n" + "\n".join(shown) + more


def _manifest_parse(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise ReleaseError(BAD_MANIFEST.format(problem=f"not valid JSON ({exc})")) from exc
    if not isinstance(manifest, dict):
        raise ReleaseError(BAD_MANIFEST.format(problem="expected a JSON object"))
    if not isinstance(manifest.get("release_id"), str) or not manifest["release_id"]:
        raise ReleaseError(BAD_MANIFEST.format(problem="'release_id' must be a non-empty string"))
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        raise ReleaseError(BAD_MANIFEST.format(problem="'files' must map file names to {sha256, rows}"))
    for name, entry in files.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ReleaseError(BAD_MANIFEST.format(problem=f"file name {name!r} points outside the release"))
        if not isinstance(entry.get("sha256"), str):
            raise ReleaseError(BAD_MANIFEST.format(problem=f"files[{name!r}] has no sha256"))
    return manifest


def _file_problems(root: Path, name: str, entry: dict[str, Any]) -> list[str]:
    path = root / name
    if not path.is_file():
        return [MISSING_FILE.format(file=name)]
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry["sha256"]:
        return [SHA_MISMATCH.format(file=name, actual=actual[:12], expected=str(entry["sha256"])[:12])]
    expected_rows = entry.get("rows")
    if isinstance(expected_rows, int):
        rows = _count_rows(name, data)
        if rows is not None and rows != expected_rows:
            return [ROW_COUNT.format(file=name, actual=rows, expected=expected_rows)]
    return []


def _count_rows(name: str, data: bytes) -> int | None:
    """Rows of a JSONL file or a JSON array; None for other files (their row count is informative)."""
    if name.endswith(".jsonl"):
        return sum(1 for line in data.splitlines() if line.strip())
    if name.endswith(".json"):
        try:
            value = json.loads(data)
        except ValueError:
            return None
        return len(value) if isinstance(value, list) else None
    return None


def _rows_read(path: Path, name: str, method: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """(line number, row) of every valid row, and the problems of the others."""
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    # split("\n"), not splitlines(): JSON leaves U+2028, U+2029 and U+0085 unescaped inside strings,
    # and splitlines() would break such a row in two (the row count in _count_rows splits bytes on \n).
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            problems.append(f"{name} line {number}: not valid JSON ({exc.args[0] if exc.args else exc})")
            continue
        row_problems = _row_problems(row, method)
        problems += [f"{name} line {number}: {p}" for p in row_problems]
        if not row_problems:
            rows.append((number, row))
    return rows, problems


def _row_problems(row: Any, method: str) -> list[str]:
    if not isinstance(row, dict):
        return ["expected a JSON object"]
    missing, extra = COLUMNS[method] - row.keys(), row.keys() - COLUMNS[method]
    if missing or extra:
        parts = ([f"missing column(s) {sorted(missing)}"] if missing else []) + (
            [f"unexpected column(s) {sorted(extra)}"] if extra else []
        )
        return ["; ".join(parts) + f" (a {method} row has exactly {sorted(COLUMNS[method])})"]
    problems = _meta_problems(row["meta"])
    if method == "sft":
        problems += _messages_problems(row["messages"], "messages", min_len=2)
        if not problems and row["messages"][-1]["role"] != "assistant":
            problems.append("the last message of 'messages' must be the assistant's answer")
        answers = [row["messages"][-1]] if not problems else []
    else:
        problems += _messages_problems(row["prompt"], "prompt", min_len=1)
        answers = []
        for side in ("chosen", "rejected"):
            side_problems = _messages_problems(row[side], side, min_len=1)
            if not side_problems and (len(row[side]) != 1 or row[side][0]["role"] != "assistant"):
                side_problems.append(f"'{side}' must be a list with one assistant message")
            problems += side_problems
        answers = [row["chosen"][0]] if not problems else []
    meta = row["meta"]
    if (
        answers
        and isinstance(meta, dict)
        and meta.get("output_format") == "json"
        and not meta.get("must_refuse")
    ):
        # A golden structured answer that does not parse would teach broken JSON.
        try:
            json.loads(answers[0]["content"])
        except ValueError:
            problems.append("the golden answer of a JSON task (meta.output_format 'json') does not parse")
    return problems


def _messages_problems(messages: Any, column: str, *, min_len: int) -> list[str]:
    if not isinstance(messages, list) or len(messages) < min_len:
        return [f"'{column}' must be a list of at least {min_len} message(s)"]
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return [f"'{column}'[{i}] needs a role in {sorted(ROLES)}"]
        if not isinstance(message.get("content"), str):
            return [f"'{column}'[{i}] needs string content"]
    return []


def _meta_problems(meta: Any) -> list[str]:
    if not isinstance(meta, dict):
        return ["'meta' must be an object"]
    problems = []
    for key, types in META_TYPES.items():
        if key not in meta:
            problems.append(f"meta.{key} is missing")
        elif not isinstance(meta[key], types):
            problems.append(f"meta.{key} has the wrong type ({type(meta[key]).__name__})")
    if isinstance(meta.get("output_format"), str) and meta["output_format"] not in OUTPUT_FORMATS:
        problems.append(f"meta.output_format must be one of {sorted(OUTPUT_FORMATS)}")
    return problems
