"""The files of one release as they are written: rows, the checks fed row by row, the manifest last.

Rows arrive in item-key order, a batch at a time (the PII gate scans a batch's texts at once);
each goes to its split's SFT file, the DPO file when it has a pair, and (train and val only) the
LLaMA-Factory files. ``finish`` closes the files, writes dataset_info.json, diff.jsonl, the data
card and manifest.json, and returns the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flywheel.export import formats
from flywheel.export.card import data_card
from flywheel.export.checks import JsonCheck, LeakCheck
from flywheel.export.encode import RowEncoder
from flywheel.export.manifest import DiffSummary, Tally, diff_rows, manifest_base, package_versions
from flywheel.export.pii import PiiGate
from flywheel.export.records import SPLITS, ExportItem, ReleaseSpec, Split
from flywheel.export.spill import Facts, Prepared
from flywheel.export.writer import FileInfo, JsonArrayFile, JsonlFile, write_file


def prepare(item: ExportItem, encoder: RowEncoder, json_check: JsonCheck) -> Prepared:
    """Everything the write pass needs of ``item``, computed once: row bytes, facts, texts, JSON verdict.

    None of it depends on the split, so the scan pass prepares every item as it reads it.
    """
    lines, alpaca_sft, alpaca_dpo, skipped = encoder.rows(item)
    facts = Facts(
        item.item_key,
        item.group_key,
        item.trace_key,
        item.sample_type,
        item.task_type,
        item.cluster,
        item.difficulty,
        item.origin,
        item.output_format,
        item.must_refuse,
        item.sop_version,
        item.annotators,
        item.annotator,
        item.reviewer,
        item.decision,
    )
    return Prepared(
        facts=facts,
        sft=lines.sft,
        dpo=lines.dpo,
        alpaca_sft=alpaca_sft,
        alpaca_dpo=alpaca_dpo,
        alpaca_skipped=skipped,
        content=lines.content,
        texts=tuple(formats.item_texts(item)),
        json_problem=json_check.problem(item),
        json_answer=item.output_format == "json" and not item.must_refuse,
    )


class ReleaseOutput:
    """The release files of one build (``out=None``: hashed, not written), its checks and manifest."""

    def __init__(self, spec: ReleaseSpec, out: Path | None, pii: PiiGate) -> None:
        self.spec, self.out, self.pii = spec, out, pii
        self.tally = Tally()
        self.json = JsonCheck()
        self.json_problems: list[str] = []
        self.json_items: list[str] = []  # keys of the items behind json_problems
        self.json_answers = 0
        pred = spec.predecessor
        self.leak = LeakCheck(pred.items if pred else None, pred.release_id if pred else "")
        self.manifest_sha256 = ""
        self.sft = {s: JsonlFile(out, f"sft/{s.value}.jsonl") for s in SPLITS}
        self.dpo = {s: JsonlFile(out, f"dpo/{s.value}.jsonl") for s in SPLITS}
        self.alpaca = {
            name: JsonArrayFile(out, f"llamafactory/{file_name}")
            for name, (file_name, _) in formats.LLAMAFACTORY_FILES.items()
        }

    def write(
        self, batch: list[tuple[Prepared, Split]], codes: Sequence[tuple[int, int, int]] | None = None
    ) -> None:
        """``codes``: each row's (item, group, trace) key digests, as the scan computed them."""
        self.pii.check([(p.facts.item_key, p.texts) for p, _ in batch])
        for at, (p, split) in enumerate(batch):
            self.json_answers += p.json_answer
            if p.json_problem:
                self.json_problems.append(p.json_problem)
                self.json_items.append(p.facts.item_key)
            self.sft[split].add(p.sft)
            pair = p.dpo is not None
            if p.dpo is not None:
                self.dpo[split].add(p.dpo)
            self.tally.add(p.facts, split, dpo=pair)
            self.leak.add(p.facts, split, p.content, codes[at] if codes is not None else None)
            if split is not Split.TEST:
                self._alpaca(p, split, pair=pair)

    def _alpaca(self, p: Prepared, split: Split, *, pair: bool) -> None:
        if p.alpaca_sft is None:
            self.tally.alpaca_skipped[str(p.alpaca_skipped)] += 1
            return
        suffix = "" if split is Split.TRAIN else "-val"
        self.alpaca[f"sft{suffix}"].add(p.alpaca_sft)
        self.tally.alpaca[f"sft{suffix}"] += 1
        if pair and p.alpaca_dpo is not None:
            self.alpaca[f"dpo{suffix}"].add(p.alpaca_dpo)
            self.tally.alpaca[f"dpo{suffix}"] += 1

    def problems(self) -> list[str]:
        found = list(self.json_problems)
        pii = self.pii.problem()
        if pii:
            found.append(pii)
        return found + self.leak.problems

    def finish(
        self,
        item_splits: Iterable[tuple[str, Split]],
        *,
        dedup: dict[str, Any],
        selection: dict[str, Any],
        splits: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Any]:
        spec, out = self.spec, self.out
        files: list[FileInfo] = [f.close() for f in (*self.sft.values(), *self.dpo.values())]
        alpaca = [f.close() for f in self.alpaca.values()]
        sha1 = {info.name.split("/", 1)[1]: info.sha1 for info in alpaca}
        info = formats.dataset_info(spec.release_id, sha1)
        files += [*alpaca, write_file(out, "llamafactory/dataset_info.json", _pretty(info))]
        diff = None
        if spec.predecessor is not None:
            diff = DiffSummary(spec.predecessor.release_id)
            diff_file = JsonlFile(out, "diff.jsonl")
            for row in diff_rows(item_splits, spec.predecessor.items):
                diff.add(row)
                diff_file.add(formats.dumps_line(row))
            files.append(diff_file.close())
        mix, mix_warnings = self.tally.mix(spec.policy.mix_target, spec.policy.mix_margin)
        warnings += mix_warnings
        manifest = {
            **manifest_base(spec),
            "counts": self.tally.counts(),
            "mix": mix,
            "warnings": warnings,
            "selection": selection,
            "dedup": dedup,
            "splits": splits,
            "sop_versions": {
                str(k): v
                for k, v in sorted(self.tally.sop_versions.items(), key=lambda kv: (kv[0] is None, kv[0]))
            },
            "people": self.tally.people(),
            "agreement": dict(spec.agreement) if spec.agreement else self.tally.agreement_counts(),
            "checks": {"json_answers": self.json_answers, "json_failures": len(self.json_problems)},
            "pii": self.pii.report(),
            "leak": {
                "overlap": self.leak.overlaps,
                "checked": [*LeakCheck.KINDS, "predecessor held-out"],
            },
            "diff": diff.to_dict(self.tally.total) if diff else None,
            "versions": package_versions(),
        }
        readme = write_file(out, "README.md", data_card(manifest, files).encode("utf-8"))
        files = sorted([*files, readme], key=lambda f: f.name)
        manifest["files"] = {f.name: f.manifest_entry() for f in files}
        self.manifest_sha256 = write_file(out, "manifest.json", _pretty(manifest)).sha256
        return manifest


def _pretty(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
