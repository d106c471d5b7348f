"""README.md: the data card a person reads before training on a release (rendered from the manifest)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flywheel.export.writer import FileInfo

TOP = 20


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _query_line(query: Mapping[str, Any]) -> str:
    parts = [
        f"decided from {query['since'] or 'the start'} until {query['until'] or 'now'}",
        f"clusters: {', '.join(query['clusters']) or 'all'}",
        f"sample types: {', '.join(query['sample_types']) or 'all'}",
        f"SOP versions: {', '.join(map(str, query['sop_versions'])) or 'all'}",
    ]
    return "; ".join(parts)


def _totals(by_split: Mapping[str, Any], name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for slices in by_split.values():
        for key, n in slices[name].items():
            out[key] = out.get(key, 0) + n
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def data_card(manifest: Mapping[str, Any], files: Sequence[FileInfo]) -> str:
    m, counts = manifest, manifest["counts"]
    rid, by_split = m["release_id"], counts["by_split"]
    diff = m.get("diff")
    dedup, pii, leak = m["dedup"], m["pii"], m["leak"]
    lines = [
        f"# {rid}",
        "",
        f"Export release {m['version']} of project **{m['project']}**, built {m['created_at']} "
        f"(code {m['code_version']}). "
        + (
            f"Predecessor: {diff['predecessor']} (+{diff['added']} added, -{diff['removed']} removed, "
            f"{diff['moved']} moved between splits; every change in `diff.jsonl`)."
            if diff
            else "First release of the project."
        ),
        "",
        "## What is in it",
        "",
        f"- {counts['items']} reviewed samples (final labels: annotator consensus or a lead's decision).",
        f"- Selected by: {_query_line(m['query'])}.",
        f"- De-duplicated: {dedup['exact_removed']} exact and {dedup['near_removed']} near duplicates "
        f"removed (cosine >= {dedup['threshold']} on `{dedup['model_id']}`).",
        f"- {'Forced below' if m['forced'] else 'At or above'} the minimum of "
        f"{m['policy']['min_samples']} samples.",
        "",
        "## Splits",
        "",
        *_table(
            ["split", "items", "SFT rows", "DPO pairs", "hard items"],
            [
                [
                    s,
                    counts["sft"][s],
                    counts["sft"][s],
                    counts["dpo"][s],
                    by_split[s]["difficulty"].get("hard", 0),
                ]
                for s in ("train", "val", "test")
            ],
        ),
        "Train on `train`; use `val` for early stopping and tuning. **`test` is for the final "
        "before/after evaluation and the promotion gate only: never train or tune on it.** An item "
        "once in val or test stays there in every later release, and items of one trace, a seed "
        "and its variants, and near duplicates never straddle splits.",
        "",
        f"## Sample-type mix (target, warning beyond +/-{_pct(m['mix']['margin'])})",
        "",
        *_table(
            ["sample type", "items", "share", "target"],
            [[k, v["count"], _pct(v["share"]), _pct(v["target"])] for k, v in m["mix"]["types"].items()],
        ),
    ]
    if m["warnings"]:
        lines += ["## Warnings", "", *[f"- {w}" for w in m["warnings"]], ""]
    for title, name in (("Task types", "task_type"), ("Clusters", "cluster"), ("Difficulty", "difficulty")):
        totals = _totals(by_split, name)
        shown = list(totals.items())[:TOP]
        more = f" ({len(totals) - TOP} more in manifest.json)" if len(totals) > TOP else ""
        lines += [f"## {title}{more}", "", *_table([name, "items"], shown)]
    people = m["people"]
    lines += [
        "## Who labeled it",
        "",
        f"- {people['annotators']['count']} annotators, {people['reviewers']['count']} reviewers; "
        f"SOP versions: {', '.join(f'v{k} ({n})' for k, n in m['sop_versions'].items())}.",
        f"- Agreement at release time: {_agreement_line(m['agreement'])}",
        "",
        "## Checks passed",
        "",
        f"- JSON tasks: {m['checks']['json_answers']} golden answers parse and follow their schema.",
        f"- PII gate: {pii['distinct_texts']} distinct texts re-scanned by the project's scrubber "
        f"(`{pii['scanner'][:12]}`), nothing found. Placeholders such as `<PERSON_1>` stand for "
        "values removed at ingest.",
        f"- Leak check: {leak['overlap']} overlaps of item ids, group keys, traces or content across splits.",
        "",
        "## Files",
        "",
        *_table(["file", "rows", "sha256"], [[f.name, f.rows, f"`{f.sha256}`"] for f in files]),
        "`manifest.json` lists every file with its sha256 (and sha1 for LLaMA-Factory's files).",
        "",
        "## Loading",
        "",
        "TRL (conversational rows; `meta` holds the lineage):",
        "",
        "```python",
        "from datasets import load_dataset",
        'sft = load_dataset("json", data_files={s: f"sft/{s}.jsonl" for s in ("train", "val", "test")})',
        'dpo = load_dataset("json", data_files={s: f"dpo/{s}.jsonl" for s in ("train", "val", "test")})',
        "```",
        "",
        f"LLaMA-Factory: `dataset_dir: llamafactory`, `dataset: {rid}-sft` (or `{rid}-dpo` with "
        f"`stage: dpo`), `eval_dataset: {rid}-sft-val`. The test split is not in these files.",
        "",
        "This repository: `python -m training sft --release <this directory> --config ...`.",
        "",
        "## Caveats",
        "",
        "- Alpaca `history` responses are trained on by LLaMA-Factory; in a failure trace earlier "
        "assistant turns can be the production model's answers. The TRL files and `training/` train "
        "on the golden answer only.",
        "- Conversations with tool calls or tool results are only in the TRL files (Alpaca cannot "
        "hold them).",
        "- `reference_exact` is true for JSON tasks (not refusals) and generated rows: their golden "
        "answer is the only right one; free-text answers are one good answer among many.",
        "",
    ]
    return "\n".join(lines)


def _agreement_line(agreement: Mapping[str, Any]) -> str:
    if agreement.get("source") == "agreement_dashboard":
        fields = agreement.get("fields", {})
        parts = []
        for name, report in list(fields.items())[:6]:
            alpha = (report.get("alpha") or {}).get("value")
            parts.append(
                f"{name} alpha {alpha:.3f}" if isinstance(alpha, int | float) else f"{name} alpha n/a"
            )
        return (
            "Krippendorff's " + "; ".join(parts) + " (details in manifest.json)." if parts else "no fields."
        )
    decisions = ", ".join(f"{k} {v}" for k, v in agreement.get("decisions", {}).items())
    return (
        f"{agreement.get('multi_annotated', 0)} items labeled by two or more annotators; decisions: "
        f"{decisions or 'none'} (no agreement statistics were available)."
    )
