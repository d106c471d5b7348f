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


@st.composite
def labeled(
    draw: st.DrawFn,
    *,
    values: st.SearchStrategy | None = None,
    max_items: int = 20,
    max_annotators: int = 5,
) -> list[Rating]:
    """Ratings as a reader meets them: missing values, a final label or gold answer on some items
    (the item's, on each of its rows), times now and then unknown, rows in any order."""
    values = values if values is not None else st.sampled_from(CATEGORIES)
    maybe = st.one_of(st.none(), values)
    n_items, n_annotators = draw(st.integers(1, max_items)), draw(st.integers(1, max_annotators))
    out = []
    for i in range(n_items):
        final, gold = draw(maybe), draw(st.none() | values)
        for a in range(n_annotators):
            if draw(st.booleans()) and draw(st.booleans()):
                continue  # this annotator never saw the item
            when = draw(
                st.none() | st.integers(0, 60).map(lambda d: START + timedelta(days=d, microseconds=d))
            )
            out.append(Rating(f"item{i}", f"ann{a}", draw(maybe), when=when, gold=gold, final=final))
    return draw(st.permutations(out))
