"""What one trace needs: the scores to send, the ones already in Langfuse as they are, the ones to retract."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from flywheel.writeback.records import ScorePayload


@dataclass(frozen=True)
class Written:
    """A ledger row: a score Langfuse accepted, and the hash of what was sent."""

    score_id: str
    name: str
    sha256: str


@dataclass(frozen=True)
class TracePlan:
    send: list[ScorePayload] = field(default_factory=list)
    unchanged: int = 0
    retract: list[Written] = field(default_factory=list)


def plan_trace(
    desired: Sequence[ScorePayload],
    written: Iterable[Written],
    *,
    hold: Callable[[Written], bool] | None = None,
) -> TracePlan:
    """New or changed scores are sent; equal hashes are skipped; written scores no longer wanted
    (an error type dropped, a correction undone, a failure out of its cluster) are retracted,
    except those ``hold`` keeps (a re-queued label waiting for its new decision); kept ones
    count as unchanged."""
    ledger = {row.score_id: row for row in written}
    wanted: dict[str, ScorePayload] = {}
    for payload in desired:
        wanted.setdefault(payload.score_id, payload)
    send = [
        p for p in wanted.values() if ledger.get(p.score_id) is None or ledger[p.score_id].sha256 != p.sha256
    ]
    stale = [row for sid, row in ledger.items() if sid not in wanted]
    kept = [row for row in stale if hold is not None and hold(row)]
    retract = [row for row in stale if row not in kept]
    return TracePlan(send=send, unchanged=len(wanted) - len(send) + len(kept), retract=retract)


def batches(payloads: Iterable[ScorePayload], *, size: int, max_bytes: int) -> Iterator[list[ScorePayload]]:
    """Consecutive batches of at most ``size`` scores and about ``max_bytes`` (a single larger
    score goes alone)."""
    batch: list[ScorePayload] = []
    used = 0
    for payload in payloads:
        if batch and (len(batch) >= size or used + payload.size > max_bytes):
            yield batch
            batch, used = [], 0
        batch.append(payload)
        used += payload.size
    if batch:
        yield batch
