"""The result record shared by the statistics, and the reasons every one of them may give."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

NEEDS_TWO = "needs at least 2 annotators on one item"
NO_VARIATION = "every rating is the same value ({value!r}); chance agreement is 1, so the statistic is 0/0"


@dataclass(frozen=True)
class Estimate:
    value: float | None
    n_items: int = 0  # items with at least 2 ratings that entered the statistic
    n_pairable: int = 0  # ratings on those items
    reason: str | None = None  # why value is None
    ci_low: float | None = None
    ci_high: float | None = None
    resamples: int = 0  # bootstrap resamples behind the interval (undefined resamples dropped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": plain(self.value),
            "ci_low": plain(self.ci_low),
            "ci_high": plain(self.ci_high),
            "n_items": int(self.n_items),
            "n_pairable": int(self.n_pairable),
            "resamples": int(self.resamples),
            "reason": self.reason,
        }


def plain(x: Any) -> float | None:
    """A JSON-safe float: numpy scalars become floats, NaN and inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
