"""Server-side SVG charts of the agreement dashboard: kappa heat map, weekly trend, confusion matrices.

Plain Python (no Django, no JavaScript): each function takes the JSON shapes of
:mod:`annotate.agreement.report` and returns an ``<svg>`` string. Every label (usernames,
categories) is user input and is escaped here; the caller may mark the result safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

# Diverging: orange below 0 (worse than chance), white at 0, blue towards 1. Colour-blind safe.
NEGATIVE = (230, 97, 1)
ZERO = (247, 247, 247)
POSITIVE = (33, 102, 172)
UNDEFINED_FILL = "url(#hatch)"
CELL = 26
LEGEND_MIN = 110
FONT = "font-family=\"-apple-system, 'Segoe UI', Roboto, sans-serif\""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def kappa_colour(value: float) -> str:
    """The fill of a kappa in [-1, 1] (clipped)."""
    v = max(-1.0, min(1.0, value))
    r, g, b = _mix(ZERO, POSITIVE, v) if v >= 0 else _mix(ZERO, NEGATIVE, -v)
    return f"rgb({r},{g},{b})"


def _ink(value: float) -> str:
    return "#fff" if abs(value) > 0.55 else "#1f2328"


def _text(x: float, y: float, content: str, *, size: int, anchor: str = "start", rotate: bool = False) -> str:
    """A text element; ``content`` is escaped here. ``rotate``: a column label, turned up 60 degrees."""
    turn = f' transform="rotate(-60 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{turn}>{_e(content)}</text>'
    )


def _hatch() -> str:
    return (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eaeef2"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#afb8c1" stroke-width="2"/></pattern></defs>'
    )


def heatmap_svg(pairwise: Mapping[str, Any], *, title: str = "Cohen's kappa") -> str:
    """Annotators x annotators, a kappa in each cell; undefined cells hatched with the reason as tooltip."""
    names = [str(n) for n in pairwise.get("annotators") or []]
    if len(names) < 2:
        return _empty(title, pairwise.get("reason") or "needs at least 2 annotators")
    kappa, shared = pairwise["kappa"], pairwise["shared_items"]
    reasons = {(u["a"], u["b"]): u["reason"] for u in pairwise.get("undefined") or []}
    label_width = min(150, 12 + 7 * max(len(n) for n in names))
    top, n = label_width, len(names)
    legend = max(n * CELL, LEGEND_MIN)
    width, height = label_width + n * CELL + 70, top + max(n * CELL, legend + 24) + 10
    parts = [
        f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}: annotator pairs" {FONT}>',
        _hatch(),
    ]
    for i, name in enumerate(names):
        y = top + i * CELL + CELL / 2 + 4
        parts.append(_text(label_width - 6, y, _short(name), size=11, anchor="end"))
        x = label_width + i * CELL + CELL / 2 + 4
        parts.append(_text(x, top - 6, _short(name), size=11, rotate=True))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            x, y = label_width + j * CELL, top + i * CELL
            value = kappa[i][j]
            if i == j:
                tip, fill, text = f"{a}: {shared[i][i]} items rated", "#d0d7de", ""
            elif value is None:
                why = reasons.get((a, b)) or reasons.get((b, a)) or "undefined"
                tip, fill, text = f"{a} x {b}: undefined — {why}", UNDEFINED_FILL, ""
            else:
                tip = f"{a} x {b}: kappa {value:.3f} on {shared[i][j]} shared items"
                fill, text = kappa_colour(value), f"{value:.2f}".replace("0.", ".", 1)
            parts.append(
                f'<g><title>{_e(tip)}</title><rect x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" '
                f'fill="{fill}"/>'
                + (
                    f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 3}" font-size="9" text-anchor="middle" '
                    f'fill="{_ink(value)}">{_e(text)}</text>'
                    if text
                    else ""
                )
                + "</g>"
            )
    parts.append(_legend(label_width + n * CELL + 16, top, legend))
    parts.append("</svg>")
    return "".join(parts)


def _legend(x: float, y: float, height: float) -> str:
    steps = 20
    out = ['<g class="legend" font-size="10"><title>kappa colour scale from -1 to 1</title>']
    for k in range(steps):
        value = 1 - 2 * k / (steps - 1)
        out.append(
            f'<rect x="{x}" y="{y + k * height / steps:.1f}" width="12" height="{height / steps + 0.5:.1f}" '
            f'fill="{kappa_colour(value)}"/>'
        )
    for value, label in ((1, "1"), (0, "0"), (-1, "-1")):
        ty = y + (1 - value) / 2 * height
        out.append(f'<text x="{x + 16}" y="{ty + 4:.1f}">{label}</text>')
    out.append(f'<rect x="{x}" y="{y + height + 8}" width="12" height="12" fill="{UNDEFINED_FILL}"/>')
    out.append(f'<text x="{x + 16}" y="{y + height + 18}">n/a</text></g>')
    return "".join(out)


def trend_svg(weekly: Mapping[str, Any], *, width: int = 640, height: int = 220) -> str:
    """Alpha and percent agreement per ISO week; undefined weeks leave a gap, never a zero."""
    weeks = list(weekly.get("weeks") or [])
    if not weeks:
        return _empty("Weekly trend", "no dated ratings in the filters")
    series = {
        "alpha": [w["alpha"]["value"] for w in weeks],
        "percent agreement": [w["percent_agreement"]["value"] for w in weeks],
    }
    values = [v for s in series.values() for v in s if v is not None]
    low = min([0.0, *values])
    left, right, top, bottom = 40, 14, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(weeks) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + (1 - (v - low) / (1 - low or 1)) * plot_h

    parts = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-label="Weekly trend of alpha and percent agreement" {FONT}>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
    ]
    for tick in sorted({low, 0.0, 0.5, 1.0}):
        _, y = xy(0, tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:g}</text>')
    every = max(1, len(weeks) // 8)
    for i, w in enumerate(weeks):
        if i % every == 0 or i == len(weeks) - 1:
            x, _ = xy(i, low)
            anchor = "end" if i == len(weeks) - 1 and i else "start" if i == 0 else "middle"
            parts.append(_text(x, height - bottom + 16, w["week"], size=10, anchor=anchor))
    colours = {"alpha": "#0969da", "percent agreement": "#bf8700"}
    for name, points in series.items():
        colour = colours[name]
        for run in _runs(points):
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, points[i]) for i in run))
            if len(run) > 1:
                parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(points):
            w = weeks[i]
            if v is None:
                why = w["alpha" if name == "alpha" else "percent_agreement"]["reason"] or "undefined"
                tip = f"{w['week']}: {name} undefined — {why}"
                x, y = xy(i, low)
                parts.append(
                    f'<g><title>{_e(tip)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#d0d7de"/></g>'
                )
                continue
            x, y = xy(i, v)
            tip = f"{w['week']}: {name} {v:.3f} on {w['n_items']} items"
            parts.append(
                f'<g><title>{_e(tip)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/></g>'
            )
    for k, (name, colour) in enumerate(colours.items()):
        x = left + k * 150
        parts.append(
            f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{height - 5}" font-size="11">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs(points: Sequence[float | None]) -> list[list[int]]:
    runs: list[list[int]] = [[]]
    for i, v in enumerate(points):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(i)
    return [r for r in runs if r]


def confusion_svg(labels: Sequence[Any], matrix: Sequence[Sequence[int]], *, annotator: str) -> str:
    """Rows: the annotator's labels; columns: the final labels; shade by the row's share."""
    names = [_label(x) for x in labels]
    n = len(names)
    label_width = min(120, 12 + 7 * max((len(x) for x in names), default=4))
    cell = 34
    top = 30 + label_width
    width, height = label_width + n * cell + 8, top + n * cell + 8
    parts = [
        f'<svg class="confusion" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(annotator)}: their labels against the '
        f'final labels" {FONT}>',
        f'<text x="0" y="14" font-size="12" font-weight="600">{_e(_short(annotator, 30))}</text>',
        f'<text x="{label_width}" y="28" font-size="10" fill="#656d76">final label →</text>',
    ]
    for j, name in enumerate(names):
        x = label_width + j * cell + cell / 2 + 4
        parts.append(_text(x, top - 6, _short(name), size=10, rotate=True))
    for i, name in enumerate(names):
        row = matrix[i]
        total = sum(row) or 1
        y = top + i * cell
        parts.append(_text(label_width - 6, y + cell / 2 + 4, _short(name), size=10, anchor="end"))
        for j, count in enumerate(row):
            share = count / total
            fill = kappa_colour(share) if count else "#fff"
            colour = "#fff" if share > 0.55 else "#1f2328"
            tip = f"{annotator} said {name}, final {names[j]}: {count} ({share:.0%} of their {name})"
            parts.append(
                f'<g><title>{_e(tip)}</title><rect x="{label_width + j * cell}" y="{y}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{fill}" stroke="{"#1f2328" if i == j else "#d0d7de"}"/>'
                f'<text x="{label_width + j * cell + cell / 2}" y="{y + cell / 2 + 4}" font-size="11" '
                f'text-anchor="middle" fill="{colour}">{count}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _label(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _short(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _empty(title: str, reason: str) -> str:
    return (
        f'<svg class="chart-empty" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 420 60" width="420" '
        f'height="60" role="img" aria-label="{_e(title)}: {_e(reason)}" {FONT}>'
        f'<rect width="420" height="60" fill="#f6f8fa" rx="6"/>'
        f'<text x="210" y="34" font-size="12" text-anchor="middle" fill="#656d76">'
        f"{_e(title)}: {_e(reason)}</text></svg>"
    )
