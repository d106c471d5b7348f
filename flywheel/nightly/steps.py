"""Steps in order, each recorded as it starts and ends; a resumed record skips what is done.

A step's record (JSON-safe, stored on the run)::

    {"status": "pending|running|succeeded|skipped|failed", "started_at": iso | None,
     "finished_at": iso | None, "counts": {...}, "message": str, "error": str, "attempts": int}

``succeeded`` and ``skipped`` (nothing to do, and the message says why) are done: a resumed run
does not repeat them. A step that raised :class:`StepError` (or any exception) is ``failed``;
the steps after it still run unless they ``need`` it, so one broken source does not stop the
clustering of what is already stored. A step left ``running`` means the process died inside
it: resuming runs it again, which is why every step must be idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

NEEDS_FAILED = "not run: step '{need}' did not succeed"
UNEXPECTED = "unexpected {kind}; run it again with --traceback to see where"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


@dataclass(frozen=True)
class StepOutcome:
    message: str  # one line of the run's summary
    counts: Mapping[str, Any] = field(default_factory=dict)
    skipped: bool = False  # nothing to do (the message says why); counts as done


class StepError(Exception):
    """A step failed in a way the user can act on; ``message`` says what and what to do."""

    def __init__(self, message: str, *, counts: Mapping[str, Any] | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.counts = dict(counts or {})
        self.exit_code = exit_code


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], StepOutcome]
    needs: tuple[str, ...] = ()


Record = MutableMapping[str, dict[str, Any]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_steps(
    steps: Iterable[Step],
    record: Record,
    *,
    save: Callable[[Record], None],
    traceback: bool = False,
) -> int:
    """Runs every step not yet done, saving the record around each; returns the exit code.

    0 when every step is done, else the exit code of the first failed step. With
    ``traceback``, an unexpected exception propagates (after being recorded).
    """
    steps = list(steps)
    for position, step in enumerate(steps):
        record.setdefault(step.name, _fresh())["position"] = position
    exit_code = 0
    for step in steps:
        entry = record[step.name]
        if StepStatus(entry["status"]).done:
            continue
        blocked = next((n for n in step.needs if not StepStatus(record[n]["status"]).done), None)
        if blocked is not None:
            entry.update(status=StepStatus.FAILED.value, message=NEEDS_FAILED.format(need=blocked), error="")
            entry["finished_at"] = _now()
            save(record)
            exit_code = exit_code or 1
            continue
        entry.update(
            status=StepStatus.RUNNING.value,
            started_at=_now(),
            finished_at=None,
            error="",
            attempts=int(entry.get("attempts", 0)) + 1,
        )
        save(record)
        try:
            outcome = step.run()
        except StepError as exc:
            entry.update(status=StepStatus.FAILED.value, error=exc.message, counts=exc.counts, message="")
            exit_code = exit_code or exc.exit_code
        except Exception as exc:
            # The message of an unexpected error may quote raw data: record only its type.
            log.error("nightly step %s failed: unexpected %s", step.name, type(exc).__name__)
            entry.update(status=StepStatus.FAILED.value, error=UNEXPECTED.format(kind=type(exc).__name__))
            entry["finished_at"] = _now()
            save(record)
            if traceback:
                raise
            exit_code = exit_code or 70
            continue
        else:
            status = StepStatus.SKIPPED if outcome.skipped else StepStatus.SUCCEEDED
            entry.update(status=status.value, message=outcome.message, counts=dict(outcome.counts))
        entry["finished_at"] = _now()
        save(record)
    return exit_code


def in_order(record: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Any]]:
    """The record's steps in the order they run. PostgreSQL's jsonb keeps no key order, so each
    entry carries its position (records written before it had one keep their stored order)."""
    items = list(record.items())
    return sorted(items, key=lambda item: (item[1].get("position", len(items)), items.index(item)))


def reset_unfinished(record: Record) -> list[str]:
    """Before a resume: failed and interrupted steps go back to pending. Returns their names, in order."""
    again = []
    for name, entry in in_order(record):
        if not StepStatus(entry["status"]).done:
            entry["status"] = StepStatus.PENDING.value
            again.append(name)
    return again


def failed_steps(record: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [name for name, e in in_order(record) if e["status"] == StepStatus.FAILED.value]


def pending_steps(record: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [name for name, e in in_order(record) if not StepStatus(e["status"]).done]


def _fresh() -> dict[str, Any]:
    return {
        "status": StepStatus.PENDING.value,
        "started_at": None,
        "finished_at": None,
        "counts": {},
        "message": "",
        "error": "",
        "attempts": 0,
    }
