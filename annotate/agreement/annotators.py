"""Per-annotator quality for one field: agreement with consensus and final labels, gold accuracy,
rejections, pace, and a confusion matrix against the final labels.

Definitions (the dashboard shows these words, so they are fixed here):

- *consensus agreement*: on items where the **other** annotators reach consensus by the SOP's
  rule, the share where this annotator's value matches it. Leaving the annotator's own vote out
  keeps them from agreeing with themselves (with 2 raters, including it would make any consensus
  a 100 % match).
- *final agreement*: the share of the annotator's rated items that have a final label where
  their value equals it. *Gold accuracy*: the same against gold answers.
- *rejection rate*: rejected submissions / submissions, from :class:`Work` records.
- *items per hour*: timed submissions / (sum of their active seconds) * 3600; the service
  measures active seconds from the submit timestamps within a labeling session (idle gaps and
  breaks excluded), so this is pace while working, not per calendar hour. *Median seconds* is
  the median of the same seconds: robust to the one task left open over lunch.
- *confusion*: rows are the annotator's labels, columns the final labels, both in the schema's
  category order; single-valued categorical fields only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from annotate.agreement.consensus import SHARE_TOLERANCE, check_rule
from annotate.agreement.result import plain
from annotate.agreement.table import RatingTable

NO_CONSENSUS = "no item where the other annotators reached consensus"
NO_FINAL = "no rated item has a final label yet"
NO_GOLD = "no gold task rated"
NO_WORK = "no submissions recorded"

# Leave-one-out counts are built for this many ratings x values cells at a time.
BATCH_CELLS = 4_000_000


@dataclass(frozen=True)
class Work:
    """One submission of a task, whatever its fields: the source of pace and rejections."""

    annotator: str
    item: str
    seconds: float | None = None  # active seconds spent; None = not measured
    rejected: bool = False  # a lead rejected the submission in review


@dataclass(frozen=True)
class Share:
    value: float | None
    n: int  # the denominator
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": plain(self.value), "n": int(self.n), "reason": self.reason}


@dataclass(frozen=True)
class Pace:
    """An annotator's submissions across every field; the same for each field, so computed once."""

    submitted: int
    rejected: int
    n_timed: int  # submissions with a measured, positive duration
    seconds: float  # their active seconds, summed
    median_seconds: float | None

    @property
    def rejection_rate(self) -> Share:
        if not self.submitted:
            return Share(None, 0, NO_WORK)
        return Share(self.rejected / self.submitted, self.submitted)

    @property
    def items_per_hour(self) -> float | None:
        return self.n_timed / self.seconds * 3600 if self.seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rejection_rate": self.rejection_rate.to_dict(),
            "items_per_hour": plain(self.items_per_hour),
            "median_seconds": plain(self.median_seconds),
            "n_timed": int(self.n_timed),
        }


NO_PACE = Pace(0, 0, 0, 0.0, None)


@dataclass(frozen=True, eq=False)
class AnnotatorStats:
    annotator: str
    n_ratings: int
    consensus_agreement: Share
    final_agreement: Share
    gold_accuracy: Share
    pace: Pace
    confusion: np.ndarray | None  # (V, V) int: annotator's label x final label

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotator": self.annotator,
            "n_ratings": int(self.n_ratings),
            "consensus_agreement": self.consensus_agreement.to_dict(),
            "final_agreement": self.final_agreement.to_dict(),
            "gold_accuracy": self.gold_accuracy.to_dict(),
            **self.pace.to_dict(),
            "confusion": self.confusion.astype(int).tolist() if self.confusion is not None else None,
        }


@dataclass(frozen=True, eq=False)
class WorkColumns:
    """Submissions as aligned columns, N rows (row n is one :class:`Work`); ``annotators`` sorted."""

    annotators: tuple[str, ...]
    who: np.ndarray  # (N,) intp into annotators
    items: tuple[str, ...]
    item: np.ndarray  # (N,) intp into items
    seconds: np.ndarray  # (N,) float active seconds; NaN = not measured
    rejected: np.ndarray  # (N,) bool

    def __len__(self) -> int:
        return len(self.who)

    @classmethod
    def from_work(cls, work: Iterable[Work]) -> WorkColumns:
        rows = list(work)
        who, labels = pd.factorize(np.array([w.annotator for w in rows], dtype=object), sort=True)
        item, items = pd.factorize(np.array([w.item for w in rows], dtype=object))
        return cls(
            annotators=tuple(str(name) for name in labels),
            who=who.astype(np.intp),
            items=tuple(items),
            item=item.astype(np.intp),
            seconds=np.array([w.seconds for w in rows], dtype=float),  # None -> NaN
            rejected=np.fromiter((w.rejected for w in rows), dtype=bool, count=len(rows)),
        )

    def work(self) -> list[Work]:
        """One :class:`Work` per row."""
        return [
            Work(self.annotators[a], self.items[i], None if math.isnan(s) else float(s), bool(r))
            for a, i, s, r in zip(self.who, self.item, self.seconds, self.rejected, strict=True)
        ]


def annotator_pace(work: Iterable[Work] | WorkColumns) -> dict[str, Pace]:
    """Submissions, rejections and active time per annotator (see the module's definitions)."""
    columns = work if isinstance(work, WorkColumns) else WorkColumns.from_work(work)
    if not len(columns):
        return {}
    used = np.bincount(columns.who, minlength=len(columns.annotators)) > 0
    labels = [columns.annotators[i] for i in np.flatnonzero(used)]
    who = (np.cumsum(used) - 1)[columns.who]
    seconds, rejected = columns.seconds, columns.rejected
    # Zero or negative durations are clock glitches, not instant work: they count as untimed.
    timed = seconds > 0
    n = len(labels)
    n_timed = np.bincount(who, timed, minlength=n).astype(int)
    total = np.bincount(who, np.where(timed, seconds, 0.0), minlength=n)
    # Medians of all annotators at once: sort by (annotator, seconds), read each run's middle.
    ordered = seconds[timed][np.lexsort((seconds[timed], who[timed]))]
    start = np.concatenate(([0], np.cumsum(n_timed)[:-1]))
    low, high = start + np.maximum(n_timed - 1, 0) // 2, start + n_timed // 2
    safe = np.minimum(np.stack([low, high]), max(len(ordered) - 1, 0))
    middle = (ordered[safe[0]] + ordered[safe[1]]) / 2 if len(ordered) else np.zeros(n)
    submitted = np.bincount(who, minlength=n)
    rejects = np.bincount(who, rejected, minlength=n).astype(int)
    return {
        str(name): Pace(
            int(submitted[i]),
            int(rejects[i]),
            int(n_timed[i]),
            float(total[i]),
            float(middle[i]) if n_timed[i] else None,
        )
        for i, name in enumerate(labels)
    }


def annotator_stats(
    table: RatingTable,
    *,
    pace: Mapping[str, Pace] | None = None,
    min_share: float = 0.5,
    min_votes: int = 2,
) -> list[AnnotatorStats]:
    """One row per annotator who rated this field or has a pace row, in name order.

    ``pace`` comes from :func:`annotator_pace` over the same filtered submissions; pass it to
    every field's call rather than recomputing it per field.
    """
    check_rule(min_share=min_share, min_votes=min_votes)
    pace = pace or {}
    names = sorted(set(table.annotators) | set(pace))
    a = len(table.annotators)
    n_ratings = np.bincount(table.rater, minlength=a)
    reached, matched = _leave_one_out(table, min_share=min_share, min_votes=min_votes)
    has_final, has_gold = ~np.isnan(table.final), ~np.isnan(table.gold)
    counts = {
        "consensus": (
            np.bincount(table.rater, matched, minlength=a),
            np.bincount(table.rater, reached, minlength=a),
        ),
        "final": (
            np.bincount(table.rater, has_final & (table.code == table.final), minlength=a),
            np.bincount(table.rater, has_final, minlength=a),
        ),
        "gold": (
            np.bincount(table.rater, has_gold & (table.code == table.gold), minlength=a),
            np.bincount(table.rater, has_gold, minlength=a),
        ),
    }
    confusion = _confusion(table)
    column = {name: i for i, name in enumerate(table.annotators)}
    rows = []
    for name in names:
        i = column.get(name)

        def share(kind: str, why: str, i: int | None = i) -> Share:
            ok, n = counts[kind]
            total = int(n[i]) if i is not None else 0
            return Share(float(ok[i]) / total if total else None, total, None if total else why)

        rows.append(
            AnnotatorStats(
                annotator=name,
                n_ratings=int(n_ratings[i]) if i is not None else 0,
                consensus_agreement=share("consensus", NO_CONSENSUS),
                final_agreement=share("final", NO_FINAL),
                gold_accuracy=share("gold", NO_GOLD),
                pace=pace.get(name, NO_PACE),
                confusion=confusion[i] if confusion is not None and i is not None else None,
            )
        )
    return rows


def _leave_one_out(table: RatingTable, *, min_share: float, min_votes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per rating: did the item's other ratings reach consensus, and does this rating match it?

    The same rule as :func:`annotate.agreement.consensus.consensus` (the tests hold them
    equal), on value codes, so a whole table is judged without a Python call per rating.
    """
    v = len(table.domain)
    index = table.value_index
    counts: np.ndarray | sparse.csr_matrix
    if len(table.items) * v <= BATCH_CELLS:  # the usual few categories: a dense items x values count
        cells = np.bincount(table.item * v + index, minlength=len(table.items) * v)
        counts = cells.reshape(len(table.items), v)
    else:
        shape = (len(table.items), v)
        counts = sparse.csr_matrix((np.ones(table.n_ratings), (table.item, index)), shape=shape)
    others_total = table.raters_per_item[table.item] - 1
    reached = np.zeros(table.n_ratings, dtype=bool)
    matched = np.zeros(table.n_ratings, dtype=bool)
    step = max(1, BATCH_CELLS // max(v, 1))
    for start in range(0, table.n_ratings, step):
        part = slice(start, start + step)
        chosen = counts[table.item[part]]
        others = chosen.toarray() if sparse.issparse(chosen) else chosen
        others[np.arange(len(others)), index[part]] -= 1
        top, winner = others.max(axis=1, initial=0), others.argmax(axis=1)
        unique = (others == top[:, None]).sum(axis=1) == 1
        total = others_total[part]
        with np.errstate(divide="ignore", invalid="ignore"):
            enough = (top >= min_votes) & (top / total >= min_share - SHARE_TOLERANCE)
        reached[part] = (total > 0) & unique & enough
        matched[part] = reached[part] & (winner == index[part])
    return reached, matched


def _confusion(table: RatingTable) -> np.ndarray | None:
    if not table.level.is_categorical or table.is_sets:
        return None
    v, a = len(table.categories), len(table.annotators)
    known = ~np.isnan(table.final)
    key = (table.rater[known] * v + table.code[known].astype(int)) * v + table.final[known].astype(int)
    return np.bincount(key, minlength=a * v * v).reshape(a, v, v)
