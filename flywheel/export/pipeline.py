"""One release, built from a stream of items: select → de-duplicate → split → write and check → manifest.

Two passes. The first reads the items once (in any order), prepares each one's release rows
(:func:`flywheel.export.output.prepare`) into a scratch file and its dedup vector into another,
and keeps only numpy arrays of codes in memory (key digests, exact-text digests, flags; the item
keys as one bytes array). The second copies the prepared rows in item-key order into the files,
checking each batch on the way (PII gate, leaks, counts). Memory holds the arrays, never the
texts or the vectors (they are read block by block). Nothing here touches a database: the
service supplies the items and the collaborators.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flywheel.cluster.dedup import normalise
from flywheel.export import formats
from flywheel.export.checks import JsonCheck
from flywheel.export.dedup import Duplicates, VectorFile, find_duplicates
from flywheel.export.encode import RowEncoder
from flywheel.export.output import ReleaseOutput, prepare
from flywheel.export.pii import PiiGate
from flywheel.export.records import SPLITS, ExportItem, ReleaseSpec, Split
from flywheel.export.spill import Spill
from flywheel.export.split import NO_SPLIT, CodePlan, SplitKeys, key_digest, plan_codes

EMBED_BATCH = 2048
WRITE_BATCH = 1024
KEY_CHUNK = 4096
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
    item_keys: np.ndarray  # (kept,) bytes, UTF-8 item keys in key order
    item_splits: np.ndarray  # (kept,) int8 split rank of each
    assignments: dict[str, Split]  # group_key -> split for every placed group
    manifest_sha256: str = ""
    stats: dict[str, Any] = field(default_factory=dict)  # how the run went (not in the manifest)
    pii_items: list[str] = field(default_factory=list)  # keys of items the PII gate flagged
    json_items: list[str] = field(default_factory=list)  # keys of items whose JSON answer failed

    @property
    def refused(self) -> bool:
        return bool(self.problems)

    def iter_items(self) -> Iterable[tuple[str, Split]]:
        """(item key, split) in key order, one at a time."""
        for key, split in zip(self.item_keys.tolist(), self.item_splits.tolist(), strict=True):
            yield key.decode(), SPLITS[split]

    @property
    def items(self) -> list[tuple[str, Split]]:
        return list(self.iter_items())


class _Codes:
    """Per-entry codes collected during the scan, in compact arrays (no object per entry)."""

    def __init__(self) -> None:
        self.offset = array("q")
        self.item = array("Q")
        self.group = array("Q")
        self.trace = array("Q")
        self.seed = array("Q")
        self.stratum = array("l")
        self.held = array("b")
        self.known = array("b")
        self.released = array("b")
        self.exact = bytearray()  # 16-byte digests of the normalised dedup texts
        self.key_chunks: list[np.ndarray] = []
        self._keys: list[bytes] = []
        self.strata: dict[tuple[str, str], int] = {}

    def add_key(self, key: str) -> None:
        self._keys.append(key.encode())
        if len(self._keys) >= KEY_CHUNK:
            self._flush_keys()

    def _flush_keys(self) -> None:
        if self._keys:
            self.key_chunks.append(np.array(self._keys, dtype=bytes))
            self._keys = []

    def keys(self) -> np.ndarray:
        self._flush_keys()
        if not self.key_chunks:
            return np.zeros(0, dtype="S1")
        keys = np.concatenate(self.key_chunks)
        self.key_chunks = [keys]
        return keys

    def u64(self, name: str) -> np.ndarray:
        return (
            np.frombuffer(getattr(self, name), dtype=np.uint64)
            if len(getattr(self, name))
            else np.zeros(0, np.uint64)
        )


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
    vectors = VectorFile(work / "vectors.f32")
    try:
        problems: list[str] = []
        codes, candidates = _scan(items, spec, embed, spill, vectors, problems, tick)
        timings["scan"] = time.perf_counter() - started
        keys = codes.keys()
        n = len(keys)
        by_key = np.argsort(keys, kind="stable")
        twin = np.arange(n)
        same = np.flatnonzero(keys[by_key][1:] == keys[by_key][:-1])
        for at in same.tolist():  # later occurrences of a key are left out (and refuse the release)
            twin[by_key[at + 1]] = twin[by_key[at]]
            problems.append(DUPLICATE_KEY.format(key=keys[by_key[at + 1]].decode()))
        alive = twin == np.arange(n)
        held = np.frombuffer(codes.held, dtype=np.int8) if n else np.zeros(0, np.int8)
        released = np.frombuffer(codes.released, dtype=np.int8) if n else np.zeros(0, np.int8)
        # Preference among duplicates: held-out groups (test, then val), then released items, then by key.
        preference = np.lexsort((keys, 1 - released, -held.astype(np.int64)))
        rank = np.empty(n, dtype=np.int64)
        rank[preference] = np.arange(n)
        exact = np.frombuffer(bytes(codes.exact), dtype="S16") if n else np.zeros(0, "S16")
        threshold = spec.policy.near_duplicate_threshold
        dupes = find_duplicates(
            exact,
            vectors,
            threshold=threshold,
            groups=codes.u64("group").view(np.int64),
            known=np.frombuffer(codes.known, dtype=np.int8).astype(bool) if n else None,
            rank=rank,
        )
        representative = np.where(alive, dupes.representative, dupes.representative[twin])
        plan = plan_codes(
            SplitKeys(
                item=codes.u64("item"),
                group=codes.u64("group"),
                trace=codes.u64("trace"),
                seed=codes.u64("seed"),
                stratum=np.frombuffer(codes.stratum, dtype=np.int_) if n else np.zeros(0, np.int_),
                strata=sorted(codes.strata, key=codes.strata.__getitem__),
                held=held,
                rank=rank,
            ),
            representative,
            test_share=spec.policy.test_share,
            val_share=spec.policy.val_share,
        )
        timings["dedup_split"] = time.perf_counter() - started - timings["scan"]
        offsets = np.frombuffer(codes.offset, dtype=np.int64) if n else np.zeros(0, np.int64)
        written = by_key[plan.split[by_key] != NO_SPLIT]
        writer = ReleaseOutput(spec, out, pii)
        assignments: dict[str, Split] = {}
        item_codes, group_codes, trace_codes = codes.u64("item"), codes.u64("group"), codes.u64("trace")
        for start in range(0, len(written), WRITE_BATCH):
            chunk = written[start : start + WRITE_BATCH]
            batch = [(spill.read(int(offsets[i])), SPLITS[plan.split[i]]) for i in chunk.tolist()]
            row_codes = zip(
                item_codes[chunk].tolist(),
                group_codes[chunk].tolist(),
                trace_codes[chunk].tolist(),
                strict=True,
            )
            writer.write(batch, list(row_codes))
            for prepared, split in batch:
                assignments[prepared.facts.group_key] = split
            tick("write", len(chunk))
        for i in np.flatnonzero(alive & (plan.split == NO_SPLIT)).tolist():  # removed duplicates' groups
            assignments.setdefault(spill.read(int(offsets[i])).facts.group_key, SPLITS[plan.unit_split[i]])
        timings["write"] = time.perf_counter() - started - timings["scan"] - timings["dedup_split"]
        item_keys, item_splits = keys[written], plan.split[written]
        kept = len(written)
        problems += writer.problems()
        warnings = writer.tally.warnings()
        minimum = spec.policy.min_samples
        if kept < minimum:
            if spec.force:
                warnings.insert(0, FORCED.format(kept=kept, minimum=minimum))
            else:
                problems.append(TOO_FEW.format(kept=kept, minimum=minimum))
        if kept and not writer.tally.items["test"]:
            problems.append(NO_TEST)
        removed = _removed(keys, exact, dupes, alive)
        dedup = {
            "model_id": embed.model_id,
            "threshold": threshold,
            "mode": dupes.mode,
            "exact_removed": dupes.exact_removed,
            "near_removed": dupes.near_removed,
            "removed": removed,
        }
        selection = {"candidates": candidates, "matched": int(alive.sum()), "kept": kept}
        splits = {
            "stratified_by": ["task_type", "cluster"],
            "units": plan.units,
            "new_units": plan.new_units,
            "conflicts": plan.conflicts,
        }
        outcome = BuildOutcome(
            release_id=spec.release_id,
            manifest={},
            problems=problems,
            warnings=warnings,
            item_keys=item_keys,
            item_splits=item_splits,
            assignments=assignments,
            pii_items=list(pii.items_with_pii),
            json_items=list(writer.json_items),
        )
        outcome.manifest = writer.finish(
            outcome.iter_items(), dedup=dedup, selection=selection, splits=splits, warnings=warnings
        )
        outcome.manifest_sha256 = writer.manifest_sha256
    finally:
        spill.close()
        vectors.close()
    timings["total"] = time.perf_counter() - started
    outcome.stats = {"timings_s": {k: round(v, 3) for k, v in timings.items()}, "pii": pii.run_stats()}
    return outcome


def _scan(
    items: Iterable[ExportItem],
    spec: ReleaseSpec,
    embed: Embed,
    spill: Spill,
    vectors: VectorFile,
    problems: list[str],
    tick: Progress,
) -> tuple[_Codes, int]:
    pred = spec.predecessor
    same_dedup = pred is not None and dict(pred.dedup) == {
        "model_id": embed.model_id,
        "threshold": spec.policy.near_duplicate_threshold,
    }
    codes = _Codes()
    json_check = JsonCheck()
    encoder = RowEncoder(spec.release_id)
    existing = spec.existing_splits
    previous = pred.items if pred is not None else {}
    texts: list[str] = []
    candidates = 0
    for raw in items:
        candidates += 1
        if not spec.query.matches(raw):
            continue
        item = formats.clean_item(raw)
        key = item.item_key
        problems += [SHAPE.format(key=key, problem=p) for p in formats.item_problems(item)]
        text = formats.dedup_text(item)
        released = key in previous
        carried = released and pred is not None and _decided_before(item, pred.created_at)
        held = existing.get(item.group_key)
        stratum = (item.task_type, item.cluster or "none")
        codes.add_key(key)
        codes.offset.append(spill.append(prepare(item, encoder, json_check)))
        codes.item.append(key_digest(key))
        codes.group.append(key_digest(item.group_key))
        codes.trace.append(key_digest(item.trace_key))
        codes.seed.append(key_digest(item.seed_key))
        codes.stratum.append(codes.strata.setdefault(stratum, len(codes.strata)))
        codes.held.append(held.rank if held is not None else NO_SPLIT)
        codes.known.append(bool(same_dedup and carried))
        codes.released.append(released)
        codes.exact += hashlib.blake2b(normalise(text).encode(), digest_size=16).digest()
        texts.append(text)
        if len(texts) >= EMBED_BATCH:
            vectors.append(_embed(embed, texts))
            tick("scan", len(texts))
            texts = []
    if texts:
        vectors.append(_embed(embed, texts))
        tick("scan", len(texts))
    return codes, candidates


def _decided_before(item: ExportItem, when: Any) -> bool:
    return item.decided_at is not None and item.decided_at <= when


def _embed(embed: Embed, texts: list[str]) -> np.ndarray:
    vectors = np.asarray(embed(texts), dtype=np.float32)
    assert vectors.shape[0] == len(texts), "the embedder must return one vector per text"
    return vectors


def _removed(
    keys: np.ndarray, exact: np.ndarray, dupes: Duplicates, alive: np.ndarray
) -> list[dict[str, str]]:
    """The first removed items by key, each with the item kept in its place and why."""
    rep = dupes.representative
    gone = np.flatnonzero(alive & (rep != np.arange(len(rep))))
    gone = gone[np.argsort(keys[gone], kind="stable")][:REMOVED_SHOWN]
    return [
        {
            "item": keys[i].decode(),
            "kept": keys[rep[i]].decode(),
            "reason": "exact" if exact[i] == exact[rep[i]] else "near",
        }
        for i in gone.tolist()
    ]


__all__ = ["BuildOutcome", "CodePlan", "build_release"]
