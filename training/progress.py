"""``progress.json``: a run's heartbeat, so a reader on another host can tell running from dead.

A run killed by SIGKILL, the kernel's OOM killer or a lost host writes nothing on its way out; what
it leaves is a ``progress.json`` that stops changing. While the run lives, a daemon thread rewrites
the file every ``interval`` seconds (and the runner on every phase change, the trainer on every log
and checkpoint), so ``updated_at`` is at most ``interval`` old during training, evaluation and the
merge alike. The service reads it (``flywheel.services.training``) and calls a run whose heartbeat
is older than its stale window failed. Written atomically: a reader never sees half a file.

    {"phase": "train", "step": 4, "planned_steps": 8, "updated_at": "2026-11-23T02:10:00+00:00",
     "pid": 4242, "host": "gpu-1"}

Phases: ``prepare`` (release checked, tokenizer and data), ``train``, ``evaluate``, ``merge``,
``record``, then ``finished`` or ``failed``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROGRESS_FILE = "progress.json"
HEARTBEAT_SECONDS = 30.0
PHASES = ("prepare", "train", "evaluate", "merge", "record", "finished", "failed")


class Heartbeat:
    """Keeps ``<run>/progress.json`` fresh from a daemon thread; ``update()`` records a new phase or step."""

    def __init__(self, run_dir: Path, *, interval: float = HEARTBEAT_SECONDS) -> None:
        self.path = run_dir / PROGRESS_FILE
        self.interval = interval
        self.state: dict[str, Any] = {"phase": "prepare", "step": 0, "planned_steps": None}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        self._write()
        self._thread = threading.Thread(target=self._beat, name="training-heartbeat", daemon=True)
        self._thread.start()
        return self

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.state.update(fields)
        self._write()

    def stop(self, phase: str) -> None:
        """Last beat: ``finished`` or ``failed``; the thread ends."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        self.update(phase=phase)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def _write(self) -> None:
        with self._lock:
            body = {
                **self.state,
                "updated_at": datetime.now(UTC).isoformat(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
            }
            tmp = self.path.with_name(PROGRESS_FILE + ".tmp")
            try:
                tmp.write_text(json.dumps(body, default=str))
                tmp.replace(self.path)
            except OSError:
                # A full or vanished disk must not kill training from this thread; the run's own
                # writes fail loudly in the main thread.
                pass


def progress_callback(heartbeat: Heartbeat) -> Any:
    """A transformers callback that moves the heartbeat's step along with the trainer."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            heartbeat.update(phase="train", step=state.global_step, planned_steps=state.max_steps)

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            heartbeat.update(step=state.global_step)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            heartbeat.update(step=state.global_step, last_checkpoint=f"checkpoint-{state.global_step}")

    return ProgressCallback()
