"""The files of one release as they are written: rows, the checks fed row by row, the manifest last.

Rows arrive in item-key order, a batch at a time (the PII gate scans a batch's texts at once);
each goes to its split's SFT file, the DPO file when it has a pair, and (train and val only) the
LLaMA-Factory files. ``finish`` closes the files, writes dataset_info.json, diff.jsonl, the data
card and manifest.json, and returns the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flywheel.export import formats
from flywheel.export.card import data_card
from flywheel.export.checks import JsonCheck, LeakCheck
from flywheel.export.manifest import DiffSummary, Tally, diff_rows, manifest_base, package_versions
from flywheel.export.pii import PiiGate
from flywheel.export.records import SPLITS, ExportItem, ReleaseSpec, Split
from flywheel.export.writer import FileInfo, JsonArrayFile, JsonlFile, write_file


class ReleaseOutput:
    """The release files of one build (``out=None``: hashed, not written), its checks and manifest."""

    def __init__(self, spec: ReleaseSpec, out: Path | None, pii: PiiGate) -> None:
        self.spec, self.out, self.pii = spec, out, pii
        self.tally = Tally()
        self.json = JsonCheck()
        self.json_problems: list[str] = []
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

    def write(self, batch: list[tuple[ExportItem, Split]]) -> None:
        self.pii.check([(item.item_key, formats.item_texts(item)) for item, _ in batch])
        release_id = self.spec.release_id
        for item, split in batch:
            problem = self.json.problem(item)
            self.json_answers += item.output_format == "json" and not item.must_refuse
            if problem:
                self.json_problems.append(problem)
            lines = formats.row_lines(item, formats.meta(item, release_id))
            self.sft[split].add(lines.sft)
            if lines.dpo is not None:
                self.dpo[split].add(lines.dpo)
            self.tally.add(item, split, dpo=lines.dpo is not None)
            self.leak.add(item, split, lines.content)
            if split is not Split.TEST:
                self._alpaca(item, split, pair=lines.dpo is not None)

    def _alpaca(self, item: ExportItem, split: Split, *, pair: bool) -> None:
        base, skipped = formats.alpaca_base(item)
        if base is None:
            self.tally.alpaca_skipped[str(skipped)] += 1
            return
        suffix = "" if split is Split.TRAIN else "-val"
        self.alpaca[f"sft{suffix}"].add(formats.dumps_line(formats.alpaca_sft(base, item)))
        self.tally.alpaca[f"sft{suffix}"] += 1
        if pair:
            self.alpaca[f"dpo{suffix}"].add(formats.dumps_line(formats.alpaca_dpo(base, item)))
            self.tally.alpaca[f"dpo{suffix}"] += 1

    def problems(self) -> list[str]:
        found = list(self.json_problems)
        pii = self.pii.problem()
        if pii:
            found.append(pii)
        return found + self.leak.problems

    def finish(
        self,
        item_splits: list[tuple[str, Split]],
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
            "diff": diff.to_dict(len(item_splits)) if diff else None,
            "versions": package_versions(),
        }
        readme = write_file(out, "README.md", data_card(manifest, files).encode("utf-8"))
        files = sorted([*files, readme], key=lambda f: f.name)
        manifest["files"] = {f.name: f.manifest_entry() for f in files}
        self.manifest_sha256 = write_file(out, "manifest.json", _pretty(manifest)).sha256
        return manifest


def _pretty(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
