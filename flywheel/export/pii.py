"""The PII gate: every text a release carries is scanned again by the project's scrubber.

Stored traces were scrubbed at ingest, but annotators write new answers, variants and generated
rows never went through ingest, and the project's PII policy may have grown since. A finding
refuses the release; the report gives counts per entity type and item keys, never a value.
Placeholders such as ``<PERSON_1>`` are the scrubber's own output and are left alone by it.

Scanning is the slow part of an export (Presidio: ~100-500 texts/s). A text found clean by a
scrubber of the same identity (config hash and library/model versions) is clean again, so clean
texts are remembered by digest in a :class:`ScanCache`; a release re-scans only what is new.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flywheel.pii.pipeline import ScrubDoc

PII_FOUND = (
    "the PII gate found {total} span(s) in {texts} exported text(s) of {items} item(s): {entities}; "
    "items: {keys}"
)
PII_HINT = (
    "Fix those items in review (or discard them), or add false positives to the project's PII "
    "allow-list; then export again."
)
SCAN_BATCH = 256
SQLITE_CHUNK = 5000
RECENT = 65536  # clean digests remembered within a release (bounded; the rest ask the cache again)


class PiiScanner(Protocol):
    """Counts PII spans per entity type in each text. ``identity`` changes when results could."""

    identity: str

    def scan(self, texts: Sequence[str]) -> list[dict[str, int]]: ...


class _Scrubs(Protocol):
    config_hash: str

    def new_registry(self, mapping: Any = None) -> Any: ...

    def scrub_many(self, docs: Sequence[ScrubDoc]) -> list[Any]: ...


class ScrubberScanner:
    """A :class:`PiiScanner` on the project's :class:`flywheel.pii.Scrubber` (Presidio or the fake)."""

    def __init__(self, scrubber: _Scrubs) -> None:
        self._scrubber = scrubber
        versions = getattr(scrubber, "versions", {})
        blob = json.dumps({"config": scrubber.config_hash, "versions": versions}, sort_keys=True)
        self.identity = hashlib.sha256(blob.encode()).hexdigest()

    def scan(self, texts: Sequence[str]) -> list[dict[str, int]]:
        # A fresh registry per text: numbering does not matter, only whether anything was found.
        docs = [ScrubDoc(text, self._scrubber.new_registry()) for text in texts]
        return [dict(result.counts) for result in self._scrubber.scrub_many(docs)]


class ScanCache(Protocol):
    def clean(self, namespace: str, digests: Sequence[bytes]) -> set[bytes]: ...

    def add(self, namespace: str, digests: Iterable[bytes]) -> None: ...


class MemoryScanCache:
    def __init__(self) -> None:
        self._clean: set[tuple[str, bytes]] = set()

    def clean(self, namespace: str, digests: Sequence[bytes]) -> set[bytes]:
        return {d for d in digests if (namespace, d) in self._clean}

    def add(self, namespace: str, digests: Iterable[bytes]) -> None:
        self._clean.update((namespace, d) for d in digests)


class SqliteScanCache:
    """Clean-text digests in a SQLite file beside the releases (a cache: deleting it costs a re-scan)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute(
            "create table if not exists clean (namespace text, digest blob, primary key (namespace, digest))"
            " without rowid"
        )
        self._db.commit()

    def clean(self, namespace: str, digests: Sequence[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for start in range(0, len(digests), SQLITE_CHUNK):
            chunk = list(digests[start : start + SQLITE_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"select digest from clean where namespace = ? and digest in ({marks})", [namespace, *chunk]
            )
            found.update(bytes(row[0]) for row in rows)
        return found

    def add(self, namespace: str, digests: Iterable[bytes]) -> None:
        self._db.executemany(
            "insert or ignore into clean (namespace, digest) values (?, ?)", ((namespace, d) for d in digests)
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class PiiGate:
    """Feed it items' texts batch by batch (``check``); ``problem()`` says whether it refuses."""

    MAX_KEYS = 10

    def __init__(
        self, scanner: PiiScanner, cache: ScanCache | None = None, *, use_cache: bool = True
    ) -> None:
        self._scanner = scanner
        self._cache = cache if use_cache else None
        self._recent: set[bytes] = set()  # clean digests seen lately in this release
        self._digests = bytearray()  # every text's digest, for the distinct count (16 bytes a text)
        self._flagged: dict[bytes, dict[str, int]] = {}
        self.entities: Counter[str] = Counter()
        self.items_with_pii: list[str] = []
        self.texts = 0  # texts checked (with repeats)
        self.scanned = 0  # texts the scanner analysed
        self.cached = 0  # texts known clean from an earlier scan

    @property
    def distinct(self) -> int:
        """Distinct texts checked."""
        if not self._digests:
            return 0
        return len(np.unique(np.frombuffer(bytes(self._digests), dtype="S16")))

    def check(self, batch: Sequence[tuple[str, Sequence[str]]]) -> None:
        """``batch``: (item key, its texts) pairs. Each distinct text is judged once per release."""
        fresh: dict[bytes, str] = {}
        per_item: list[tuple[str, list[bytes]]] = []
        recent, flagged = self._recent, self._flagged
        memo: dict[str, bytes] = {}  # texts repeat across a batch (domains, system prompts)
        for key, texts in batch:
            digests = [memo.get(text) or memo.setdefault(text, text_digest(text)) for text in texts]
            for digest, text in zip(digests, texts, strict=True):
                if digest not in recent and digest not in flagged:
                    fresh.setdefault(digest, text)
            self.texts += len(texts)
            self._digests += b"".join(digests)
            per_item.append((key, digests))
        order = list(fresh)
        known = self._cache.clean(self._scanner.identity, order) if self._cache and order else set()
        todo = [d for d in order if d not in known]
        self.cached += len(known)
        self.scanned += len(todo)
        clean = []
        for start in range(0, len(todo), SCAN_BATCH):
            chunk = todo[start : start + SCAN_BATCH]
            for digest, counts in zip(chunk, self._scanner.scan([fresh[d] for d in chunk]), strict=True):
                if counts:
                    flagged[digest] = counts
                    self.entities.update(counts)
                else:
                    clean.append(digest)
        if self._cache is not None and clean:
            self._cache.add(self._scanner.identity, clean)
        if len(recent) > RECENT:
            recent.clear()
        recent.update(known)
        recent.update(clean)
        if flagged:
            for key, digests in per_item:
                if any(d in flagged for d in digests):
                    self.items_with_pii.append(key)

    def problem(self) -> str | None:
        if not self.entities:
            return None
        keys = self.items_with_pii[: self.MAX_KEYS]
        more = (
            f" and {len(self.items_with_pii) - len(keys)} more"
            if len(self.items_with_pii) > len(keys)
            else ""
        )
        return PII_FOUND.format(
            total=sum(self.entities.values()),
            texts=len(self._flagged),
            items=len(self.items_with_pii),
            entities=", ".join(f"{name} {n}" for name, n in sorted(self.entities.items())),
            keys=", ".join(keys) + more,
        )

    def report(self) -> dict[str, Any]:
        """For the manifest: depends on the texts only, not on what the cache already knew."""
        return {
            "scanner": self._scanner.identity,
            "texts": self.texts,
            "distinct_texts": self.distinct,
            "flagged_texts": len(self._flagged),
            "entities": dict(sorted(self.entities.items())),
            "items_flagged": len(self.items_with_pii),
            "passed": not self.entities,
        }

    def run_stats(self) -> dict[str, int]:
        """How this run got there: texts analysed now vs known clean from an earlier scan."""
        return {"scanned": self.scanned, "from_cache": self.cached}
