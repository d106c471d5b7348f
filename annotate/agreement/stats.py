"""Agreement statistics over a :class:`RatingTable`: percent agreement, Cohen's and Fleiss' kappa.

Krippendorff's alpha lives in :mod:`annotate.agreement.alpha` and is re-exported here.

Undefined cases give ``value=None`` and a ``reason``, never an exception or a NaN:

- fewer than 2 ratings on every item: nothing is pairable (:data:`NEEDS_TWO`);
- every rating is the same category: chance agreement is 1, so a kappa is 0/0. We return None
  (not 1.0) because "no variation" says nothing about whether annotators would agree on a
  harder item; percent agreement, reported beside it, shows the 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from annotate.agreement.result import NEEDS_TWO, NO_VARIATION, Estimate, plain
from annotate.agreement.table import Level, RatingTable
from flywheel.errors import InvalidInput

NOT_CATEGORICAL = "defined for categorical fields only; see alpha for {level} values"
NO_SHARED = "no shared items"
FEW_SHARED = "only {n} shared item(s); a pair needs at least {min_shared}"
NO_PAIR = "no pair of annotators has a defined kappa"
PAIR_NO_VARIATION = "both gave the same single value on every shared item; kappa is 0/0"
WEIGHTS_NEED_ORDER = "Weighted kappa needs an ordinal field; field level is {level}."
BAD_WEIGHTS = "Unknown kappa weights {weights!r}; expected linear, quadratic or None."

# A kappa over a handful of shared items swings by +-0.5 on one changed label.
MIN_SHARED = 10


class Weights(StrEnum):
    LINEAR = "linear"
    QUADRATIC = "quadratic"


@dataclass(frozen=True, eq=False)
class PairwiseKappa:
    annotators: tuple[str, ...]
    weights: Weights | None
    kappa: np.ndarray  # (A, A) float; NaN on the diagonal and where undefined
    shared: np.ndarray  # (A, A) int items both rated; the diagonal is items each annotator rated
    reasons: dict[tuple[int, int], str] = field(default_factory=dict)  # (i, j), i < j, NaN pairs
    reason: str | None = None  # why no pair at all is defined

    @property
    def mean(self) -> float | None:
        """Light's kappa: the mean over defined pairs."""
        upper = self.kappa[np.triu_indices(len(self.annotators), 1)]
        defined = upper[~np.isnan(upper)]
        return float(defined.mean()) if len(defined) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.value if self.weights else None,
            "annotators": list(self.annotators),
            "kappa": [[plain(x) for x in row] for row in self.kappa],
            "shared_items": self.shared.astype(int).tolist(),
            "mean": self.mean,
            "undefined": [
                {"a": self.annotators[i], "b": self.annotators[j], "reason": why}
                for (i, j), why in sorted(self.reasons.items())
            ],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FleissKappa:
    value: float | None
    n_items: int  # items used: those with exactly raters_per_item ratings
    raters_per_item: int | None
    n_items_excluded: int  # pairable items with another number of ratings
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": plain(self.value),
            "n_items": int(self.n_items),
            "raters_per_item": self.raters_per_item,
            "n_items_excluded": int(self.n_items_excluded),
            "reason": self.reason,
        }


def percent_agreement(table: RatingTable) -> Estimate:
    """Mean over items (with >= 2 ratings) of the share of that item's rating pairs that agree.

    Item [a, a, b] has pairs aa, ab, ab: 1/3 agree. Averaging per item, not over all pairs,
    keeps an item seen by 5 annotators from weighing 10 times one seen by 2.
    """
    return percent_agreement_by_group(table, np.zeros(len(table.items), dtype=int), 1)[0]


def percent_agreement_by_group(
    table: RatingTable, group_of_item: np.ndarray, n_groups: int
) -> list[Estimate]:
    """:func:`percent_agreement` of each group of items; ``group_of_item`` as in ``alpha_by_group``."""
    pairs, counts = table.pairs, table.raters_per_item
    agree = np.bincount(
        table.item[pairs.i], table.code[pairs.i] == table.code[pairs.j], minlength=len(counts)
    )
    chosen = (counts >= 2) & (group_of_item >= 0)
    share = agree[chosen] / (counts[chosen] * (counts[chosen] - 1) / 2)
    group = group_of_item[chosen]
    n_items = np.bincount(group, minlength=n_groups)
    total = np.bincount(group, share, minlength=n_groups)
    n_pairable = np.bincount(group, counts[chosen], minlength=n_groups).astype(int)
    return [
        Estimate(float(total[g] / n_items[g]), int(n_items[g]), int(n_pairable[g]))
        if n_items[g]
        else Estimate(None, reason=NEEDS_TWO)
        for g in range(n_groups)
    ]


def pairwise_cohen(
    table: RatingTable, weights: Weights | str | None = None, *, min_shared: int = MIN_SHARED
) -> PairwiseKappa:
    """Cohen's kappa for every annotator pair, over the items both rated.

    All pairs at once: one bincount over co-rated pairs gives every pair's confusion matrix
    (labels = all the field's categories, in schema order, so weights use schema distances),
    then sklearn's formula ``1 - sum(w * observed) / sum(w * expected)`` runs on the stack.
    The tests hold it to ``sklearn.metrics.cohen_kappa_score(..., labels=categories)`` pair by
    pair; calling sklearn 435 times costs ~0.3 s per field, this ~5 ms.
    """
    weights = _parse_weights(weights, table)
    n = len(table.annotators)
    kappa, shared = np.full((n, n), np.nan), np.zeros((n, n), dtype=int)
    np.fill_diagonal(shared, np.bincount(table.rater, minlength=n))
    if not table.level.is_categorical:
        return PairwiseKappa(
            table.annotators, weights, kappa, shared, {}, NOT_CATEGORICAL.format(level=table.level)
        )
    if len(table.pairs.i):
        pair_ids, total, values = _pair_kappas(table, weights)
        values = np.where(total >= min_shared, values, np.nan)
        ia, ib = pair_ids // n, pair_ids % n
        kappa[ia, ib] = kappa[ib, ia] = values
        shared[ia, ib] = shared[ib, ia] = total
    reasons = {}
    for i, j in zip(*np.triu_indices(n, 1), strict=True):
        if np.isnan(kappa[i, j]):
            count = int(shared[i, j])
            reasons[(int(i), int(j))] = (
                NO_SHARED
                if count == 0
                else FEW_SHARED.format(n=count, min_shared=min_shared)
                if count < min_shared
                else PAIR_NO_VARIATION
            )
    whole = None if not np.isnan(kappa).all() else (NO_PAIR if len(table.pairs.i) else NEEDS_TWO)
    return PairwiseKappa(table.annotators, weights, kappa, shared, reasons, whole)


def _pair_kappas(table: RatingTable, weights: Weights | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pair ids a * A + b, shared items, kappa or NaN) of every pair that shares an item."""
    v, pairs = len(table.categories), table.pairs
    pair_ids, pair_of = table.rater_pairs
    x, y = table.code[pairs.i].astype(int), table.code[pairs.j].astype(int)
    confusion = np.bincount((pair_of * v + x) * v + y, minlength=len(pair_ids) * v * v).reshape(-1, v, v)
    total = confusion.sum(axis=(1, 2))
    expected = confusion.sum(axis=2)[:, :, None] * confusion.sum(axis=1)[:, None, :] / total[:, None, None]
    w = _weight_matrix(weights, v)
    observed_w, expected_w = (confusion * w).sum(axis=(1, 2)), (expected * w).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return pair_ids, total, np.where(expected_w > 0, 1 - observed_w / expected_w, np.nan)


def fleiss(table: RatingTable) -> FleissKappa:
    """Fleiss' kappa (statsmodels) on the items with the modal number of ratings.

    Fleiss' kappa assumes every item has the same number of raters. Rather than invent ratings
    or drop raters, we use the items whose rater count is the most common one (ties: the larger
    count, more information per item) and report how many items that left out; alpha, which
    needs no such assumption, uses them all.
    """
    counts = table.raters_per_item
    pairable = counts[counts >= 2]
    if not table.level.is_categorical:
        return FleissKappa(None, 0, None, len(pairable), NOT_CATEGORICAL.format(level=table.level))
    if not len(pairable):
        return FleissKappa(None, 0, None, 0, NEEDS_TWO)
    sizes, freq = np.unique(pairable, return_counts=True)
    m = int(sizes[freq == freq.max()].max())
    used = counts == m
    keep = used[table.item]
    v = len(table.categories)
    row = (np.cumsum(used) - 1)[table.item[keep]]  # the item's rank among the used ones
    value_counts = np.bincount(row * v + table.code[keep].astype(int), minlength=int(used.sum()) * v).reshape(
        -1, v
    )
    n_used, excluded = int(used.sum()), len(pairable) - int(used.sum())
    seen = np.flatnonzero(value_counts.sum(axis=0))
    if len(seen) < 2:
        return FleissKappa(None, n_used, m, excluded, NO_VARIATION.format(value=table.categories[seen[0]]))
    # statsmodels takes ~1 s to import; only this call needs it.
    from statsmodels.stats.inter_rater import fleiss_kappa

    return FleissKappa(float(fleiss_kappa(value_counts, method="fleiss")), n_used, m, excluded)


def _parse_weights(weights: Weights | str | None, table: RatingTable) -> Weights | None:
    if weights is None:
        return None
    try:
        parsed = Weights(weights)
    except ValueError:
        raise InvalidInput(BAD_WEIGHTS.format(weights=weights)) from None
    if table.level is not Level.ORDINAL:
        raise InvalidInput(WEIGHTS_NEED_ORDER.format(level=table.level))
    return parsed


def _weight_matrix(weights: Weights | None, v: int) -> np.ndarray:
    distance = np.abs(np.subtract.outer(np.arange(v), np.arange(v))).astype(float)
    if weights is None:
        return (distance > 0).astype(float)
    return distance if weights is Weights.LINEAR else distance**2
