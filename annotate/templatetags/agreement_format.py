"""Numbers of the agreement dashboard as the page shows them: 3 decimals, percents, intervals, or a dash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()

DASH = "—"


@register.filter
def num(value: Any, digits: int = 3) -> str:
    """0.73412 -> "0.734"; None -> "—"."""
    if value is None or value == "":
        return DASH
    return f"{float(value):.{int(digits)}f}"


@register.filter
def pct(value: Any) -> str:
    """0.734 -> "73.4 %"; None -> "—"."""
    if value is None or value == "":
        return DASH
    return f"{float(value) * 100:.1f} %"


@register.filter
def ci(estimate: Mapping[str, Any] | None) -> str:
    """The 95 % interval of an estimate, "0.612 - 0.801" (an en dash), or "" when there is none."""
    if not estimate or estimate.get("ci_low") is None or estimate.get("ci_high") is None:
        return ""
    return f"{estimate['ci_low']:.3f} \u2013 {estimate['ci_high']:.3f}"


@register.filter
def get(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """``mapping[key]`` for keys a template cannot spell (``by_choice`` names are user text)."""
    return (mapping or {}).get(key)
