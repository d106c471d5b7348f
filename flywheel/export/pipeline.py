"""One release, built from a stream of items: select → de-duplicate → split → write and check → manifest.

Two passes. The first reads the items once (in any order) and keeps a slim index in memory, the
items and their dedup vectors in scratch files; the second writes the rows in item-key order,
checking each on the way (JSON and schema, PII, leaks). Memory holds the index, never the texts;
the vectors come into memory only for a first release's all-pairs dedup. Nothing here touches a
database: the service supplies the items and the collaborators.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flywheel.cluster.dedup import normalise
from flywheel.export import formats
from flywheel.export.dedup import Duplicates, VectorFile, find_duplicates
from flywheel.export.output import ReleaseOutput
from flywheel.export.pii import PiiGate
from flywheel.export.records import ExportItem, ReleaseSpec, Split
from flywheel.export.spill import Spill
from flywheel.export.split import SplitEntry, plan_splits

EMBED_BATCH = 512
WRITE_BATCH = 256
REMOVED_SHOWN = 100

SHAPE = "item {key}: {problem}"
DUPLICATE_KEY = "item {key}: appears twice in the input; item keys are unique per project"
TOO_FEW = "{kept} samples after de-duplication, fewer than the minimum of {minimum}"
FORCED = "published with {kept} samples, below the minimum of {minimum} (forced)"
NO_TEST = "the test split is empty: there is nothing to evaluate on (need more items, or a higher test_share)"

Progress = Callable[[str, int], None]


class Embed(Protocol):
    @property
    def model_id(self) -> str: ...

    def __call__(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class BuildOutcome:
    release_id: str
    manifest: dict[str, Any]
    problems: list[str]
    warnings: list[str]
    items: list[tuple[str, Split]]  # (item key, split), sorted by key
    assignments: dict[str, Split]  # group_key -> split for every placed group
    manifest_sha256: str = ""
    stats: dict[str, Any] = field(default_factory=dict)  # how the run went (not in the manifest)

    @property
    def refused(self) -> bool:
        return bool(self.problems)


@dataclass(slots=True)
class _Entry:
    item_key: str
    group_key: str
    trace_key: str | None
    seed_key: str | None
    stratum: tuple[str, str]
    exact: str  # digest of the normalised dedup text
    offset: int  # in the spill file
    known: bool  # carried over from the predecessor, de-duplicated by the same model and threshold
    held: int  # rank of the split its group already has (-1: none)
    released: bool  # in the predecessor


def build_release(
    items: Iterable[ExportItem],
    *,
    spec: ReleaseSpec,
    embed: Embed,
    pii: PiiGate,
    work: Path,
    out: Path | None,
    progress: Progress | None = None,
) -> BuildOutcome:
    """Build into ``out`` (an empty temp dir; None: a dry run that writes nothing but ``work``)."""
    tick = progress or (lambda stage, n: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    spill = Spill(work / "items.spill")
    try:
        problems: list[str] = []
        vectors = VectorFile(work / "vectors.f32")
        entries, candidates = _scan(items, spec, embed, spill, vectors, problems, tick)
        timings["scan"] = time.perf_counter() - started
        threshold = spec.policy.near_duplicate_threshold
        order = sorted(range(len(entries)), key=lambda i: _preference(entries[i]))
        rank = np.empty(len(entries), dtype=np.int64)
        rank[order] = np.arange(len(entries))
        found = find_duplicates(
            [e.exact for e in entries],
            vectors,
            threshold=threshold,
            known=np.array([e.known for e in entries], dtype=bool),
            rank=rank,
        )
        vectors.close()
        # From here on entries are in preference order (the split's units take their first entry).
        entries = [entries[i] for i in order]
        dupes = Duplicates(rank[found.representative[order]], found.exact_groups, found.mode)
        plan = plan_splits(
            [SplitEntry(e.item_key, e.group_key, e.stratum, e.trace_key, e.seed_key) for e in entries],
            dupes.representative,
            spec.existing_splits,
            test_share=spec.policy.test_share,
            val_share=spec.policy.val_share,
        )
        timings["dedup_split"] = time.perf_counter() - started - timings["scan"]
        kept = sorted(
            (
                (e.item_key, e.offset, plan.splits[i])
                for i, e in enumerate(entries)
                if plan.splits[i] is not None
            ),
            key=lambda row: row[0],
        )
        writer = ReleaseOutput(spec, out, pii)
        for start in range(0, len(kept), WRITE_BATCH):
            chunk = kept[start : start + WRITE_BATCH]
            writer.write([(spill.read(offset), split) for _, offset, split in chunk if split is not None])
            tick("write", len(chunk))
        timings["write"] = time.perf_counter() - started - timings["scan"] - timings["dedup_split"]
        item_splits = [(key, split) for key, _, split in kept if split is not None]
        problems += writer.problems()
        warnings = writer.tally.warnings()
        minimum = spec.policy.min_samples
        if len(item_splits) < minimum:
            if spec.force:
                warnings.insert(0, FORCED.format(kept=len(item_splits), minimum=minimum))
            else:
                problems.append(TOO_FEW.format(kept=len(item_splits), minimum=minimum))
        if item_splits and not writer.tally.items["test"]:
            problems.append(NO_TEST)
        removed = _removed(entries, dupes)
        dedup = {
            "model_id": embed.model_id,
            "threshold": threshold,
            "mode": dupes.mode,
            "exact_removed": dupes.exact_removed,
            "near_removed": dupes.near_removed,
            "removed": removed[:REMOVED_SHOWN],
        }
        selection = {"candidates": candidates, "matched": len(entries), "kept": len(item_splits)}
        splits = {
            "stratified_by": ["task_type", "cluster"],
            "units": plan.units,
            "new_units": plan.new_units,
            "conflicts": plan.conflicts,
        }
        manifest = writer.finish(
            item_splits, dedup=dedup, selection=selection, splits=splits, warnings=warnings
        )
    finally:
        spill.close()
    timings["total"] = time.perf_counter() - started
    return BuildOutcome(
        release_id=spec.release_id,
        manifest=manifest,
        problems=problems,
        warnings=warnings,
        items=item_splits,
        assignments=plan.assignments,
        manifest_sha256=writer.manifest_sha256,
        stats={"timings_s": {k: round(v, 3) for k, v in timings.items()}, "pii": pii.run_stats()},
    )


def _preference(entry: _Entry) -> tuple[int, int, str]:
    """Kept first among duplicates: held-out groups (test, then val), then released items, then by key."""
    return (-entry.held, 0 if entry.released else 1, entry.item_key)


def _scan(
    items: Iterable[ExportItem],
    spec: ReleaseSpec,
    embed: Embed,
    spill: Spill,
    vectors: VectorFile,
    problems: list[str],
    tick: Progress,
) -> tuple[list[_Entry], int]:
    pred = spec.predecessor
    same_dedup = pred is not None and dict(pred.dedup) == {
        "model_id": embed.model_id,
        "threshold": spec.policy.near_duplicate_threshold,
    }
    entries: list[_Entry] = []
    seen: set[str] = set()
    texts: list[str] = []
    candidates = 0
    for raw in items:
        candidates += 1
        if not spec.query.matches(raw):
            continue
        item = formats.clean_item(raw)
        if item.item_key in seen:
            problems.append(DUPLICATE_KEY.format(key=item.item_key))
            continue
        seen.add(item.item_key)
        problems += [SHAPE.format(key=item.item_key, problem=p) for p in formats.item_problems(item)]
        text = formats.dedup_text(item)
        released = pred is not None and item.item_key in pred.items
        carried = released and pred is not None and _decided_before(item, pred.created_at)
        held = spec.existing_splits.get(item.group_key)
        entries.append(
            _Entry(
                item_key=item.item_key,
                group_key=item.group_key,
                trace_key=item.trace_key,
                seed_key=item.seed_key,
                stratum=(item.task_type, item.cluster or "none"),
                exact=hashlib.blake2b(normalise(text).encode(), digest_size=16).hexdigest(),
                offset=spill.append(item),
                known=bool(same_dedup and carried),
                held=held.rank if held is not None else -1,
                released=released,
            )
        )
        texts.append(text)
        if len(texts) >= EMBED_BATCH:
            vectors.append(_embed(embed, texts))
            tick("scan", len(texts))
            texts = []
    if texts:
        vectors.append(_embed(embed, texts))
        tick("scan", len(texts))
    return entries, candidates


def _decided_before(item: ExportItem, when: Any) -> bool:
    return item.decided_at is not None and item.decided_at <= when


def _embed(embed: Embed, texts: list[str]) -> np.ndarray:
    vectors = np.asarray(embed(texts), dtype=np.float32)
    assert vectors.shape[0] == len(texts), "the embedder must return one vector per text"
    return vectors


def _removed(entries: Sequence[_Entry], dupes: Any) -> list[dict[str, str]]:
    out = []
    for i, rep in enumerate(dupes.representative):
        if rep != i:
            reason = "exact" if entries[i].exact == entries[rep].exact else "near"
            out.append({"item": entries[i].item_key, "kept": entries[rep].item_key, "reason": reason})
    return sorted(out, key=lambda row: row["item"])
