"""Krippendorff's alpha, with a bootstrap confidence interval.

The point estimate is the ``krippendorff`` package's, fed the value counts of the pairable items
(items x values). Missing ratings simply do not count; items with one rating cannot be paired
and drop out, as in Krippendorff's definition.

The bootstrap resamples *items* with replacement (a percentile interval). It never goes back to
the ratings: alpha is ``1 - (n - 1) * sum(o * d) / sum_ck(n_c * n_k * d_ck)``, and both sums
are additive over items, so each item is reduced once to its contribution, and a resample is a
weighted sum of those. Items with the same multiset of values contribute the same, so they are
grouped into patterns (a field with 3 choices and 2-3 raters has ~16), and drawing N items with
replacement becomes one multinomial draw over the patterns: 200 resamples of 40k items are a
200 x 16 matrix product. The tests hold the unresampled weighted sum to the library's value.

- nominal, interval, ratio: the distance of two values is fixed, so an item's contribution to
  ``sum(o * d)`` is one number; the expected term has a closed form for nominal and interval.
- ordinal: the distance between two categories depends on how many values fall between them
  in the (resampled) data, so an item contributes its row of the coincidence matrix instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd
from scipy import sparse

from annotate.agreement.result import NEEDS_TWO, NO_VARIATION, Estimate
from annotate.agreement.table import Level, RatingTable, parse_level
from flywheel.errors import InvalidInput

NUMERIC_LEVEL_ON_CATEGORIES = "Level {level} needs numbers; this field's values are categories."
NO_EXPECTED = "the expected disagreement is 0, so alpha is 0/0"
BAD_CONFIDENCE = "confidence must be between 0 and 1, got {value!r}."

# The library builds items x V x V arrays; past this many cells we compute the same formula
# ourselves instead of allocating gigabytes (the tests hold both to the same value).
LIBRARY_CELLS = 5_000_000
# Grouping items into patterns needs a dense items x V count matrix; numeric fields with many
# distinct values skip it (they seldom repeat a pattern anyway).
PATTERN_MAX_VALUES = 64
# Resamples are computed in batches whose arrays stay below this many cells.
BATCH_CELLS = 4_000_000


def krippendorff_alpha(
    table: RatingTable,
    level: Level | str | None = None,
    *,
    bootstrap: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Alpha at ``level`` (default: the table's); a ``confidence`` interval from ``bootstrap`` resamples."""
    level = table.level if level is None else parse_level(level)
    if table.level.is_categorical and not level.is_categorical:
        raise InvalidInput(NUMERIC_LEVEL_ON_CATEGORIES.format(level=level))
    if not 0 < confidence < 1:
        raise InvalidInput(BAD_CONFIDENCE.format(value=confidence))
    keep = table.raters_per_item[table.item] >= 2
    if not keep.any():
        return Estimate(None, reason=NEEDS_TWO)
    units = _Units.build(table, level)
    n_items, n_pairable = int(units.multiplicity.sum()), int(keep.sum())
    seen = np.flatnonzero(np.bincount(table.value_index[keep], minlength=len(table.domain)))
    if len(seen) < 2:
        only = table.categories[int(seen[0])] if table.level.is_categorical else float(table.domain[seen[0]])
        return Estimate(None, n_items, n_pairable, NO_VARIATION.format(value=only))
    v = len(units.domain)
    if n_items * v * v <= LIBRARY_CELLS:
        value_counts = np.repeat(units.counts.toarray(), units.multiplicity, axis=0)
        value = float(
            krippendorff.alpha(
                value_counts=value_counts, value_domain=units.domain, level_of_measurement=level.value
            )
        )
    else:
        value = float(units.alphas(units.multiplicity[None, :].astype(float))[0])
    if not np.isfinite(value):  # ratio data whose distinct values cancel out (x + y = 0)
        return Estimate(None, n_items, n_pairable, NO_EXPECTED)
    if bootstrap <= 0:
        return Estimate(value, n_items, n_pairable)
    resampled = units.bootstrap(bootstrap, seed)
    valid = resampled[np.isfinite(resampled)]
    if not len(valid):
        return Estimate(value, n_items, n_pairable)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(valid, [tail, 100 - tail])
    return Estimate(value, n_items, n_pairable, None, float(low), float(high), len(valid))


def alpha_by_group(
    table: RatingTable, group_of_item: np.ndarray, n_groups: int, level: Level | str | None = None
) -> list[Estimate]:
    """Alpha of each group of items (ISO weeks, say) from one pass over the table; no intervals.

    ``group_of_item`` (items,) holds 0 .. n_groups - 1, or -1 for items in no group. Each
    group's alpha is the weighted sum above with weight 1 on its items and 0 elsewhere.
    """
    level = table.level if level is None else parse_level(level)
    per_item = table.raters_per_item
    pairable = per_item >= 2
    in_group = pairable & (group_of_item >= 0)
    n_items = np.bincount(group_of_item[in_group], minlength=n_groups)
    n_pairable = np.bincount(group_of_item[in_group], per_item[in_group], minlength=n_groups).astype(int)
    if not in_group.any():
        return [Estimate(None, reason=NEEDS_TWO) for _ in range(n_groups)]
    units = _Units.build(table, level, np.where(group_of_item >= 0, group_of_item, n_groups))
    weights = np.where(units.group[None, :] == np.arange(n_groups)[:, None], units.multiplicity, 0)
    values = units.alphas(weights.astype(float))
    counts = np.asarray(units.counts.T @ weights.T.astype(float)).T  # (groups, V)
    out = []
    for g in range(n_groups):
        if not n_items[g]:
            out.append(Estimate(None, reason=NEEDS_TWO))
        elif np.isnan(values[g]):
            only = int(np.argmax(counts[g]))
            shown = table.categories[only] if table.level.is_categorical else float(table.domain[only])
            out.append(Estimate(None, int(n_items[g]), int(n_pairable[g]), NO_VARIATION.format(value=shown)))
        else:
            out.append(Estimate(float(values[g]), int(n_items[g]), int(n_pairable[g])))
    return out


@dataclass(frozen=True, eq=False)
class _Units:
    """Each pattern of pairable items reduced to what alpha needs; P patterns, V values."""

    level: Level
    domain: np.ndarray  # (V,) values in order
    multiplicity: np.ndarray  # (P,) int: items with this pattern
    counts: sparse.csr_matrix  # (P, V): the pattern's values, counted
    observed: sparse.csr_matrix | np.ndarray  # ordinal: (P, V*V) coincidences; else (P,) sum(o * d)
    group: np.ndarray  # (P,) int: the group of the pattern's items (all 0 without groups)

    @classmethod
    def build(cls, table: RatingTable, level: Level, group_of_item: np.ndarray | None = None) -> _Units:
        """``group_of_item`` (items,) keeps items of different groups (weeks) in different patterns."""
        items = _ItemUnits.of(table, level)
        n_units = len(items.pairable)
        multiplicity = np.ones(n_units, dtype=int)
        group = np.zeros(n_units, dtype=int) if group_of_item is None else group_of_item[items.pairable]
        if items.pattern is None:
            counts = sparse.csr_matrix(items.counts)
            return cls(level, items.domain, multiplicity, counts, items.observed, group)
        key = items.pattern * (int(group.max(initial=0)) + 1) + group
        _, first, multiplicity = np.unique(key, return_index=True, return_counts=True)
        counts, observed = sparse.csr_matrix(items.counts[first]), items.observed[first]
        return cls(level, items.domain, multiplicity, counts, observed, group[first])

    def alphas(self, weights: np.ndarray) -> np.ndarray:
        """(B,) alpha of B weighted samples; ``weights``: (B, P) items drawn per pattern. NaN = undefined."""
        n = np.asarray(self.counts.T @ weights.T).T  # (B, V) pairable values per value
        total = n.sum(axis=1)
        if self.level is Level.ORDINAL:
            v = len(self.domain)
            o = np.asarray(self.observed.T @ weights.T).T.reshape(-1, v, v)
            d = _ordinal_distances(n)
            disagreement = (o * d).sum(axis=(1, 2))
            expected = np.einsum("bc,bck,bk->b", n, d, n)
        else:
            disagreement = weights @ self.observed
            expected = _expected(n, total, self.domain, self.level)
        varied = (n > 0).sum(axis=1) >= 2  # one value only: 0/0, the resample says nothing
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(varied, 1 - (total - 1) * disagreement / expected, np.nan)

    def bootstrap(self, resamples: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        n_items = int(self.multiplicity.sum())
        share = self.multiplicity / n_items
        v = len(self.domain)
        width = max(len(share), v * v if self.level is Level.ORDINAL else v)
        batch = max(1, BATCH_CELLS // width)
        out = []
        for start in range(0, resamples, batch):
            # N items drawn with replacement, counted per pattern: one multinomial draw.
            weights = rng.multinomial(n_items, share, size=min(batch, resamples - start)).astype(float)
            out.append(self.alphas(weights))
        return np.concatenate(out)


@dataclass(frozen=True, eq=False)
class _ItemUnits:
    """Each pairable item reduced to what alpha needs, before items are grouped into patterns.

    Alpha and the weekly trend both start from this; it is kept with the table
    (:attr:`RatingTable.memo`), so each table is reduced once per level.
    """

    domain: np.ndarray  # (V,) values in order
    pairable: np.ndarray  # (U,) the items with >= 2 ratings
    counts: np.ndarray | sparse.csr_matrix  # (U, V) each item's values, counted (dense: int64)
    observed: sparse.csr_matrix | np.ndarray  # ordinal: (U, V*V) coincidences; else (U,) sum(o * d)
    pattern: np.ndarray | None  # (U,) equal for items with equal counts; None: too many values

    @classmethod
    def of(cls, table: RatingTable, level: Level) -> _ItemUnits:
        key = ("alpha units", level)
        if key not in table.memo:
            table.memo[key] = cls._reduce(table, level)
        reduced: _ItemUnits = table.memo[key]
        return reduced

    @classmethod
    def _reduce(cls, table: RatingTable, level: Level) -> _ItemUnits:
        per_item = table.raters_per_item
        pairable = np.flatnonzero(per_item >= 2)
        unit_of_item = np.full(len(per_item), -1)
        unit_of_item[pairable] = np.arange(len(pairable))
        keep = per_item[table.item] >= 2
        domain, index = table.domain, table.value_index
        n_units, v = len(pairable), len(domain)
        unit = unit_of_item[table.item[keep]]
        # Every ordered pair of an item's m values adds 1 / (m - 1) to the coincidence matrix.
        i, j = table.pairs.i, table.pairs.j
        pair_unit = unit_of_item[table.item[i]]
        weight = 1.0 / (per_item[pairable][pair_unit] - 1)
        observed: sparse.csr_matrix | np.ndarray
        if level is Level.ORDINAL:
            cells = np.concatenate([index[i] * v + index[j], index[j] * v + index[i]])
            rows = np.concatenate([pair_unit, pair_unit])
            observed = sparse.csr_matrix((np.tile(weight, 2), (rows, cells)), shape=(n_units, v * v))
        else:
            d = _distance(domain[index[i]], domain[index[j]], level)
            observed = np.bincount(pair_unit, 2 * weight * d, minlength=n_units)
        if v > PATTERN_MAX_VALUES:
            counts = sparse.csr_matrix((np.ones(len(unit)), (unit, index[keep])), shape=(n_units, v))
            return cls(domain, pairable, counts, observed, None)
        dense = np.bincount(unit * v + index[keep], minlength=n_units * v).reshape(n_units, v)
        return cls(domain, pairable, dense, observed, pd.factorize(_row_keys(dense))[0])


def _row_keys(dense: np.ndarray) -> np.ndarray:
    """One integer per row, equal for equal rows: the counts read as digits in base (max count + 1)."""
    base = int(dense.max(initial=0)) + 1
    if dense.shape[1] * np.log2(base) < 62:
        return dense @ (base ** np.arange(dense.shape[1], dtype=np.int64))
    # Too many digits for int64: number the distinct rows instead (slower, same grouping).
    return np.unique(dense, axis=0, return_inverse=True)[1].reshape(-1)


def _distance(x: np.ndarray, y: np.ndarray, level: Level) -> np.ndarray:
    """The library's metrics for levels whose distance depends on the two values only."""
    if level is Level.NOMINAL:
        return (x != y).astype(float)
    if level is Level.INTERVAL:
        return (x - y) ** 2
    total = x + y
    return np.divide(x - y, total, out=np.zeros(np.broadcast(x, y).shape), where=total != 0) ** 2


def _expected(n: np.ndarray, total: np.ndarray, domain: np.ndarray, level: Level) -> np.ndarray:
    """(B,) sum over value pairs of n_c * n_k * d_ck, without a V x V matrix where a closed form exists."""
    if level is Level.NOMINAL:
        return total**2 - (n**2).sum(axis=1)
    if level is Level.INTERVAL:
        x = domain - domain.mean()  # distances ignore a shift; centring keeps the difference exact
        return 2 * (total * (n @ x**2) - (n @ x) ** 2)
    result = np.zeros(len(n))
    step = max(1, BATCH_CELLS // len(domain))
    for start in range(0, len(domain), step):
        block = slice(start, start + step)
        d = _distance(domain[block, None], domain[None, :], level)
        result += ((n[:, block] @ d) * n).sum(axis=1)
    return result


def _ordinal_distances(n: np.ndarray) -> np.ndarray:
    """(B, V, V) the library's ordinal metric: (values from c to k, inclusive, - (n_c + n_k) / 2) squared."""
    v = n.shape[1]
    cumulative = np.concatenate([np.zeros((len(n), 1)), np.cumsum(n, axis=1)], axis=1)
    idx = np.arange(v)
    low, high = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
    between = cumulative[:, high + 1] - cumulative[:, low]
    return (between - (n[:, :, None] + n[:, None, :]) / 2) ** 2
