"""The promotion gate: an adapter is promoted only if no gated metric regresses beyond tolerance.

Each gated metric is compared with the base model and, when a previously promoted adapter is
given (``--baseline-adapter``), with that adapter too. Rates (higher is better) may drop by at most
``gate_tolerance`` (absolute); ``eval_loss`` (lower is better) may rise by at most
``gate_loss_tolerance`` (relative). A metric with no rows to judge on either side (no JSON task in
the test split, say) is skipped, and the report says so. Pure functions: unit-tested on constructed
metrics, no model needed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from training.config import GateSettings

LOWER_IS_BETTER = {"eval_loss"}
PASS, FAIL, SKIPPED = "pass", "fail", "skipped"


@dataclass(frozen=True)
class GateCheck:
    metric: str
    against: str  # "base" or "baseline"
    reference: float | None
    candidate: float | None
    delta: float | None  # candidate - reference, in the metric's units
    allowed: float | None  # the largest change in the bad direction that still passes
    status: str  # pass | fail | skipped


@dataclass
class GateResult:
    promoted: bool
    checks: list[GateCheck] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [asdict(c) for c in self.checks], "reasons": self.reasons}


def metric_check(
    metric: str,
    reference: float | None,
    candidate: float | None,
    settings: GateSettings,
    against: str = "base",
) -> GateCheck:
    """Compare one metric; used for the verdict and, unchanged, to flag regressed slices."""
    if reference is None or candidate is None:
        return GateCheck(metric, against, reference, candidate, None, None, SKIPPED)
    delta = candidate - reference
    if metric in LOWER_IS_BETTER:
        allowed = abs(reference) * settings.gate_loss_tolerance
        regressed = delta > allowed
    else:
        allowed = settings.gate_tolerance
        regressed = -delta > allowed
    return GateCheck(metric, against, reference, candidate, delta, allowed, FAIL if regressed else PASS)


def _reason(check: GateCheck) -> str:
    lower = check.metric in LOWER_IS_BETTER
    return (
        f"{check.metric} {'rose' if lower else 'fell'} from {check.reference:.4g} ({check.against}) "
        f"to {check.candidate:.4g} "
        f"(change {check.delta:+.4g}, allowed {'+' if lower else '-'}{check.allowed:.4g})"
    )


def gate_decide(
    *,
    adapter: dict[str, Any],
    base: dict[str, Any],
    settings: GateSettings,
    baseline: dict[str, Any] | None = None,
) -> GateResult:
    """Promote when every non-skipped check passes and at least one check ran."""
    references = [("base", base)] + ([("baseline", baseline)] if baseline is not None else [])
    checks = [
        metric_check(metric, ref.get(metric), adapter.get(metric), settings, against=name)
        for name, ref in references
        for metric in settings.gate_metrics
    ]
    failed = [c for c in checks if c.status == FAIL]
    ran = [c for c in checks if c.status == PASS]
    skipped = sorted({c.metric for c in checks if c.status == SKIPPED})
    reasons = [_reason(c) for c in failed]
    if not failed and not ran:
        reasons.append(
            "no gated metric could be measured on the test split, so nothing shows the adapter is safe"
        )
    elif not failed:
        against = " and ".join(name for name, _ in references)
        reasons.append(f"all {len(ran)} gated checks within tolerance against {against}")
    if skipped:
        reasons.append(f"skipped (no rows to judge): {', '.join(skipped)}")
    return GateResult(promoted=not failed and bool(ran), checks=checks, reasons=reasons)
