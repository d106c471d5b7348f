"""Random rating tables for the property tests: a few items, a few annotators, holes anywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from annotate.agreement import Rating

CATEGORIES = ("a", "b", "c", "d")
START = datetime(2025, 3, 3, tzinfo=UTC)


@st.composite
def ratings(
    draw: st.DrawFn,
    *,
    values: st.SearchStrategy | None = None,
    max_items: int = 25,
    max_annotators: int = 6,
    missing: float | None = None,
) -> list[Rating]:
    """Ratings of up to ``max_items`` items by 1 .. ``max_annotators`` annotators, some cells empty."""
    values = values if values is not None else st.sampled_from(CATEGORIES)
    n_items = draw(st.integers(1, max_items))
    n_annotators = draw(st.integers(1, max_annotators))
    hole = draw(st.floats(0.0, 0.6)) if missing is None else missing
    out = []
    for i in range(n_items):
        for a in range(n_annotators):
            if draw(st.floats(0, 1)) < hole:
                continue
            day = draw(st.integers(0, 30))
            out.append(Rating(f"item{i}", f"ann{a}", draw(values), when=START + timedelta(days=day)))
    return out
