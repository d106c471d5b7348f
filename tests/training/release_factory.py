"""Writes a small, valid export release as described in docs/release-format.md.

The training tests build their input with this helper. It stands in for ``manage.py export_release``
until a contract test feeds a real export through the same tests; keep it to the documented format
and nothing more. Rows mix three task kinds so every evaluation check has something to count:
JSON extraction (``output_format: json`` with a schema, exact reference), free-text summaries, and
boundary samples (``must_refuse`` true and false).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

ORDER_SCHEMA = {
    "type": "object",
    "required": ["order_id", "status"],
    "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}},
}
SYSTEM = "You are a helpful support assistant."
STATUSES = ["shipped", "delayed", "delivered", "lost"]
SPLITS = ("train", "val", "test")


def _meta(release_id: str, split: str, i: int, rng: random.Random, **fields: Any) -> dict[str, Any]:
    meta = {
        "id": f"{split}-{i}",
        "task_type": "extract",
        "difficulty": rng.choice(["easy", "medium", "hard"]),
        "domain": "support",
        "source": rng.choice(["langfuse", "generated"]),
        "source_id": f"trace-{split}-{i}",
        "cluster": rng.choice(["C1", "C2", None]),
        "sample_type": "golden",
        "must_refuse": False,
        "output_format": "text",
        "json_schema": None,
        "reference_exact": False,
        "annotator": "ann1",
        "reviewer": "lead1",
        "sop_version": 1,
        "version": release_id,
        "augment_type": None,
        "augment_round": None,
    }
    meta.update(fields)
    return meta


def _sample(release_id: str, split: str, i: int, rng: random.Random) -> tuple[list, str, str, dict]:
    """(prompt messages, golden answer, rejected answer, meta) for row ``i``."""
    kind = i % 4
    order = f"A-{1000 + i}"
    status = rng.choice(STATUSES)
    if kind == 0:
        prompt = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": f"Extract the order id and status as JSON: order {order} is {status}.",
            },
        ]
        golden = json.dumps({"order_id": order, "status": status})
        rejected = golden[: len(golden) // 2]  # the broken JSON a failing model produced
        meta = _meta(
            release_id, split, i, rng, output_format="json", json_schema=ORDER_SCHEMA, reference_exact=True
        )
    elif kind == 1:
        prompt = [
            {"role": "user", "content": f"Where is my order {order}? It should have arrived."},
            {"role": "assistant", "content": "Let me check that for you."},
            {"role": "user", "content": "Summarise my problem in one sentence."},
        ]
        golden = f"Your order {order} has not arrived yet."
        rejected = "I cannot help with that."
        meta = _meta(release_id, split, i, rng, task_type="summarise")
    elif kind == 2:
        prompt = [
            {"role": "user", "content": f"Give me the home address of the customer with order {order}."}
        ]
        golden = "I'm sorry, but I can't share personal data about other customers."
        rejected = "Sure, they live at 12 Example Street."
        meta = _meta(
            release_id, split, i, rng, task_type="pii_request", sample_type="boundary", must_refuse=True
        )
    else:
        prompt = [{"role": "user", "content": "How long do I have to request a refund?"}]
        golden = "Refund requests are accepted within 30 days of delivery."
        rejected = "I'm unable to help with refunds."
        meta = _meta(release_id, split, i, rng, task_type="policy_question", sample_type="boundary")
    return prompt, golden, rejected, meta


def _long_rows(release_id: str, rng: random.Random) -> list[dict[str, Any]]:
    """Two train rows over a small max_length: a long history (trimmed) and a long answer (dropped)."""
    history: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]
    for turn in range(12):
        history.append({"role": "user", "content": f"Old question number {turn} about my order A-{turn}."})
        history.append(
            {"role": "assistant", "content": f"Old answer number {turn}: the order is on its way."}
        )
    history.append({"role": "user", "content": "So where is it now?"})
    trimmed = {
        "messages": [*history, {"role": "assistant", "content": "It is at the depot."}],
        "meta": _meta(release_id, "train", 900, rng, task_type="summarise"),
    }
    long_answer = " ".join(f"Step {n}: check the order status page again." for n in range(60))
    dropped = {
        "messages": [
            {"role": "user", "content": "Explain everything."},
            {"role": "assistant", "content": long_answer},
        ],
        "meta": _meta(release_id, "train", 901, rng, task_type="summarise"),
    }
    return [trimmed, dropped]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def write_release(
    root: Path,
    *,
    release_id: str = "factory-v1",
    rows_per_split: int = 40,
    long_rows: bool = True,
    seed: int = 0,
) -> Path:
    """Write a release into ``root`` (created) and return it. ``long_rows`` adds two over-long train rows."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    alpaca_sft: list[dict[str, Any]] = []
    alpaca_dpo: list[dict[str, Any]] = []
    for split in SPLITS:
        sft_rows, dpo_rows = [], []
        for i in range(rows_per_split):
            prompt, golden, rejected, meta = _sample(release_id, split, i, rng)
            answer = {"role": "assistant", "content": golden}
            sft_rows.append({"messages": [*prompt, answer], "meta": meta})
            dpo_rows.append(
                {
                    "prompt": prompt,
                    "chosen": [answer],
                    "rejected": [{"role": "assistant", "content": rejected}],
                    "meta": meta,
                }
            )
            if split == "train":
                system = next((m["content"] for m in prompt if m["role"] == "system"), None)
                turns = [m for m in prompt if m["role"] != "system"]
                history = [
                    [turns[k]["content"], turns[k + 1]["content"]] for k in range(0, len(turns) - 1, 2)
                ]
                base = {
                    "instruction": turns[-1]["content"],
                    "input": "",
                    **({"system": system} if system else {}),
                }
                if history:
                    base["history"] = history
                alpaca_sft.append({**base, "output": golden})
                alpaca_dpo.append({**base, "chosen": golden, "rejected": rejected})
        if split == "train" and long_rows:
            sft_rows += _long_rows(release_id, rng)
        _write_jsonl(root / "sft" / f"{split}.jsonl", sft_rows)
        _write_jsonl(root / "dpo" / f"{split}.jsonl", dpo_rows)

    lf = root / "llamafactory"
    lf.mkdir(exist_ok=True)
    (lf / "sft.json").write_text(json.dumps(alpaca_sft, ensure_ascii=False, indent=1))
    (lf / "dpo.json").write_text(json.dumps(alpaca_dpo, ensure_ascii=False, indent=1))
    columns = {"prompt": "instruction", "query": "input", "system": "system", "history": "history"}
    info = {
        f"{release_id}-sft": {
            "file_name": "sft.json",
            "formatting": "alpaca",
            "columns": {**columns, "response": "output"},
            "file_sha1": hashlib.sha1((lf / "sft.json").read_bytes()).hexdigest(),  # noqa: S324 (LLaMA-Factory's field)
        },
        f"{release_id}-dpo": {
            "file_name": "dpo.json",
            "formatting": "alpaca",
            "ranking": True,
            "columns": {**columns, "chosen": "chosen", "rejected": "rejected"},
            "file_sha1": hashlib.sha1((lf / "dpo.json").read_bytes()).hexdigest(),  # noqa: S324
        },
    }
    (lf / "dataset_info.json").write_text(json.dumps(info, indent=1))
    (root / "README.md").write_text(
        f"# Release {release_id}\n\nSynthetic release written by the test factory.\n"
    )

    files: dict[str, dict[str, Any]] = {}
    for path in sorted(
        p for p in root.rglob("*") if p.is_file() and p.name not in ("manifest.json", "README.md")
    ):
        rel = path.relative_to(root).as_posix()
        entry: dict[str, Any] = {"sha256": _sha256(path)}
        if path.suffix == ".jsonl":
            entry["rows"] = sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
        elif rel != "llamafactory/dataset_info.json":
            entry["rows"] = len(json.loads(path.read_text()))
        files[rel] = entry
    manifest = {
        "release_id": release_id,
        "version": 1,
        "created_at": "2026-11-23T02:00:00Z",
        "files": files,
        "counts": {rel: entry.get("rows") for rel, entry in files.items()},
        "predecessor": None,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root
