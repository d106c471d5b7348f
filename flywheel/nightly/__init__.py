"""The nightly job's core, plain Python: steps run in order, each recorded, resumable after a crash.

The service (:mod:`flywheel.services.nightly`) builds the steps for a project and stores the
record; this package only knows callables and dicts.
"""

from flywheel.nightly.steps import (
    Step,
    StepError,
    StepOutcome,
    StepStatus,
    failed_steps,
    in_order,
    pending_steps,
    reset_unfinished,
    run_steps,
)

__all__ = [
    "Step",
    "StepError",
    "StepOutcome",
    "StepStatus",
    "failed_steps",
    "in_order",
    "pending_steps",
    "reset_unfinished",
    "run_steps",
]
