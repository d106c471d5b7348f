"""JSON-safe reports for the dashboard, the API and ``manage.py agreement``: one field at a time.

Every number is a plain float or int, or None with a ``reason`` beside it. The service filters
the ratings (project, field, SOP version, cluster, time window) before calling; the same
function then serves the dashboard and the CSV check of an external pilot round. Ratings come
as a list of :class:`Rating` (the CSV check) or as :class:`RatingColumns` (the database read,
no object per rating); both give the very same report.

Shape of :func:`field_report` (single-valued field)::

    {"field": str | None, "multi_choice": false, "level": "nominal|ordinal|interval|ratio",
     "categories": [...] | null, "n_ratings", "n_items", "n_items_pairable", "n_annotators": int,
     "percent_agreement": Estimate, "alpha": Estimate (with ci_low/ci_high),
     "cohen": Pairwise, "cohen_weighted": {"linear": Pairwise, "quadratic": Pairwise} | null,
     "fleiss": {"value", "n_items", "raters_per_item", "n_items_excluded", "reason"},
     "weekly": {"weeks": [{"week": "2025-W07", "n_items", "percent_agreement": Estimate,
                           "alpha": Estimate (no interval)}], "n_items_undated": int},
     "annotators": {"labels": [...] | null, "consensus_rule": {"min_share", "min_votes"},
                    "rows": [Row]}}

    Estimate = {"value", "ci_low", "ci_high", "n_items", "n_pairable", "resamples", "reason"}
    Pairwise = {"weights", "annotators", "kappa": [[float|null]] (A x A, null on the diagonal),
                "shared_items": [[int]], "mean" (Light's kappa), "undefined": [{"a", "b", "reason"}],
                "reason"}
    Share = {"value", "n", "reason"}
    Row = {"annotator", "n_ratings", "consensus_agreement": Share, "final_agreement": Share,
           "gold_accuracy": Share, "rejection_rate": Share, "items_per_hour", "median_seconds",
           "n_timed", "confusion": [[int]] (their label x final label, in "labels" order) | null}

A multi-choice field gives ``"multi_choice": true``, ``"choices"``, ``"exact_match"`` (percent
agreement on whole sets), the counts, ``"annotators"`` (judged on whole sets, no confusion
matrix) and ``"by_choice": {choice: <the single-valued shape, binary nominal>}``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from annotate.agreement.alpha import alpha_by_group, krippendorff_alpha
from annotate.agreement.annotators import Pace, annotator_stats
from annotate.agreement.choices import set_table, set_table_from_columns, split_choices
from annotate.agreement.columns import RatingColumns, rating_table_from_columns
from annotate.agreement.csvfile import read_ratings_csv
from annotate.agreement.stats import (
    MIN_SHARED,
    Weights,
    fleiss,
    pairwise_cohen,
    percent_agreement,
    percent_agreement_by_group,
)
from annotate.agreement.table import (
    Level,
    Rating,
    RatingTable,
    is_missing,
    is_multi,
    parse_level,
    rating_table,
)
from flywheel.errors import InvalidInput

MULTI_NEEDS_NOMINAL = "Multi-choice values are compared per choice and as sets; level {level} does not apply."


# A list of ratings (the CSV check, tests) or the same as columns (the database read).
Ratings = Iterable[Rating] | RatingColumns


def field_report(
    ratings: Ratings,
    *,
    level: Level | str,
    categories: Sequence[Any] | None = None,
    pace: Mapping[str, Pace] | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    min_shared: int = MIN_SHARED,
    min_share: float = 0.5,
    min_votes: int = 2,
    field: str | None = None,
) -> dict[str, Any]:
    """Every agreement statistic of one field. ``categories``: the schema's choices, in order.

    ``pace`` (:func:`annotator_pace` of the submissions) fills the annotators' pace columns; it
    does not depend on the field, so the dashboard computes it once for all fields.
    """
    level, ratings = parse_level(level), _rows(ratings)
    options = {"bootstrap": bootstrap, "seed": seed, "min_shared": min_shared}
    if _is_multi_choice(ratings):
        if not level.is_categorical:
            raise InvalidInput(MULTI_NEEDS_NOMINAL.format(level=level))
        sets = _set_table(ratings, categories)
        return {
            "field": field,
            "multi_choice": True,
            "level": Level.NOMINAL.value,
            "choices": [_jsonable(c) for c in sets.choices],
            **_counts(sets),
            "exact_match": percent_agreement(sets).to_dict(),
            "by_choice": {str(c): table_report(t, **options) for c, t in split_choices(sets).items()},
            "annotators": _annotators(sets, pace, min_share, min_votes),
        }
    table = _rating_table(ratings, level, categories)
    return {
        "field": field,
        "multi_choice": False,
        **table_report(table, **options),
        "annotators": _annotators(table, pace, min_share, min_votes),
    }


def table_report(
    table: RatingTable, *, bootstrap: int = 200, seed: int = 0, min_shared: int = MIN_SHARED
) -> dict[str, Any]:
    """The statistics of one coded table (a field, or one choice of a multi-choice field)."""
    ordinal = table.level is Level.ORDINAL
    return {
        "level": table.level.value,
        "categories": [_jsonable(c) for c in table.categories] if table.level.is_categorical else None,
        **_counts(table),
        "percent_agreement": percent_agreement(table).to_dict(),
        "alpha": krippendorff_alpha(table, bootstrap=bootstrap, seed=seed).to_dict(),
        "cohen": pairwise_cohen(table, min_shared=min_shared).to_dict(),
        "cohen_weighted": {
            w.value: pairwise_cohen(table, w, min_shared=min_shared).to_dict() for w in Weights
        }
        if ordinal
        else None,
        "fleiss": fleiss(table).to_dict(),
        "weekly": trend(table),
    }


def weekly_trend(
    ratings: Ratings,
    *,
    level: Level | str,
    categories: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Alpha and percent agreement per ISO week; a multi-choice field is judged on whole sets."""
    level, ratings = parse_level(level), _rows(ratings)
    if _is_multi_choice(ratings):
        return trend(_set_table(ratings, categories))
    return trend(_rating_table(ratings, level, categories))


def trend(table: RatingTable) -> dict[str, Any]:
    """Alpha and percent agreement per ISO week (UTC), without intervals.

    An item belongs to the week of its last rating: the week its agreement became known.
    Alpha for every week comes from one pass (:func:`alpha_by_group`), not one call per week.
    """
    weeks = table.weeks
    n_weeks = len(weeks.keys)
    agreement = percent_agreement_by_group(table, weeks.group_of_item, n_weeks)
    alphas = alpha_by_group(table, weeks.group_of_item, n_weeks)
    rows = [
        {
            "week": f"{key // 100}-W{key % 100:02d}",
            "n_items": int(n),
            "percent_agreement": agreement[g].to_dict(),
            "alpha": alphas[g].to_dict(),
        }
        for g, (key, n) in enumerate(zip(weeks.keys, weeks.n_items, strict=True))
    ]
    return {"weeks": rows, "n_items_undated": weeks.n_undated}


def boundary_consistency(
    ratings: Ratings,
    *,
    boundary_items: Collection[str] | None = None,
    field: str = "must_refuse",
    bootstrap: int = 200,
    seed: int = 0,
    min_shared: int = MIN_SHARED,
) -> dict[str, Any]:
    """Agreement on the refusal flag over boundary samples only, reported apart from the field's own report.

    Boundary samples are where the SOP's line between "answer" and "refuse" is tested, so their
    agreement is the SOP's clarity on exactly that line; mixed into the field's overall numbers
    it would drown in the easy cases. ``boundary_items`` restricts ``ratings`` (None: already done).
    """
    keep = set(boundary_items) if boundary_items is not None else None
    if isinstance(ratings, RatingColumns):
        if keep is not None:
            chosen = np.fromiter((item in keep for item in ratings.items), bool, len(ratings.items))
            ratings = ratings.take(chosen[ratings.item])
        table = rating_table_from_columns(ratings, level=Level.NOMINAL, categories=(False, True))
    else:
        chosen_ratings = [r for r in ratings if keep is None or r.item in keep]
        table = rating_table(chosen_ratings, level=Level.NOMINAL, categories=(False, True))
    refuse = float(table.code.mean()) if table.n_ratings else None
    return {
        "field": field,
        "sample_type": "boundary",
        "refuse_share": refuse,
        **table_report(table, bootstrap=bootstrap, seed=seed, min_shared=min_shared),
    }


def agreement_from_csv(
    path: str | Path,
    *,
    field: str,
    level: Level | str,
    categories: Sequence[Any] | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    min_shared: int = MIN_SHARED,
) -> dict[str, Any]:
    """:func:`field_report` of a long-form ``item,annotator,value`` CSV (format: :mod:`.csvfile`)."""
    ratings = read_ratings_csv(path, level=level, field=field, categories=categories)
    report = field_report(
        ratings,
        level=level,
        categories=categories,
        bootstrap=bootstrap,
        seed=seed,
        min_shared=min_shared,
        field=field,
    )
    return {"source": Path(path).name, **report}


def _rows(ratings: Ratings) -> list[Rating] | RatingColumns:
    return ratings if isinstance(ratings, RatingColumns) else list(ratings)


def _is_multi_choice(ratings: list[Rating] | RatingColumns) -> bool:
    """Judged by the first value present; a list among single values (or the reverse) fails in coding."""
    if isinstance(ratings, RatingColumns):
        return is_multi(ratings.first_value())
    return is_multi(next((r.value for r in ratings if not is_missing(r.value)), None))


def _rating_table(
    ratings: list[Rating] | RatingColumns, level: Level, categories: Sequence[Any] | None
) -> RatingTable:
    if isinstance(ratings, RatingColumns):
        return rating_table_from_columns(ratings, level=level, categories=categories)
    return rating_table(ratings, level=level, categories=categories)


def _set_table(ratings: list[Rating] | RatingColumns, choices: Sequence[Any] | None) -> RatingTable:
    if isinstance(ratings, RatingColumns):
        return set_table_from_columns(ratings, choices=choices)
    return set_table(ratings, choices=choices)


def _counts(table: RatingTable) -> dict[str, int]:
    per_item = table.raters_per_item
    return {
        "n_ratings": int(table.n_ratings),
        "n_items": int((per_item > 0).sum()),
        "n_items_pairable": int((per_item >= 2).sum()),
        "n_annotators": len(table.annotators),
    }


def _annotators(
    table: RatingTable, pace: Mapping[str, Pace] | None, min_share: float, min_votes: int
) -> dict[str, Any]:
    rows = annotator_stats(table, pace=pace, min_share=min_share, min_votes=min_votes)
    labels = (
        [_jsonable(c) for c in table.categories] if table.level.is_categorical and not table.is_sets else None
    )
    return {
        "labels": labels,
        "consensus_rule": {"min_share": float(min_share), "min_votes": int(min_votes)},
        "rows": [row.to_dict() for row in rows],
    }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
