"""The agreement dashboard's tables as rows: what the CSV downloads hold, one function per table.

Plain Python over the dict of :func:`annotate.services.agreement.agreement_dashboard`. Each
table is ``(header, rows)``; cells are numbers, text or None (an empty cell), never NaN. A
multi-choice field's pair and trend rows are per choice (the ``choice`` column); its other
tables judge whole sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from flywheel.errors import InvalidInput

Table = tuple[list[str], list[list[Any]]]
UNKNOWN_TABLE = "Unknown table {table!r}; the downloads are {tables}."
MULTI_NOTE = "multi-choice: judged per choice (see the pairs and trend tables) and as whole sets"


def field_parts(report: Mapping[str, Any]) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """(choice, single-valued report): the field itself, or each choice of a multi-choice field."""
    if report.get("multi_choice"):
        yield from report["by_choice"].items()
    else:
        yield None, report


def fields_table(dashboard: Mapping[str, Any], names: Sequence[str] | None = None) -> Table:
    header = [
        "field",
        "type",
        "level",
        "n_ratings",
        "n_items",
        "n_items_pairable",
        "n_annotators",
        "percent_agreement",
        "alpha",
        "alpha_ci_low",
        "alpha_ci_high",
        "fleiss_kappa",
        "mean_cohen_kappa",
        "outside_schema",
        "reason",
    ]
    rows = []
    for name in names or dashboard["field_order"]:
        r = dashboard["fields"][name]
        if r["multi_choice"]:
            agreement = r["exact_match"]
            counts = [r["n_ratings"], r["n_items"], r["n_items_pairable"], r["n_annotators"]]
            blank = [None] * 5  # alpha, its interval, Fleiss and Cohen: per choice only
            why = agreement["reason"] or MULTI_NOTE
            rows.append(
                [name, r["type"], r["level"], *counts, agreement["value"], *blank, r["outside_schema"], why]
            )
            continue
        alpha, fleiss, cohen = r["alpha"], r["fleiss"], r["cohen"]
        counts = [r["n_ratings"], r["n_items"], r["n_items_pairable"], r["n_annotators"]]
        numbers = [r["percent_agreement"]["value"], alpha["value"], alpha["ci_low"], alpha["ci_high"]]
        why = alpha["reason"] or fleiss["reason"] or cohen["reason"]
        rows.append(
            [
                name,
                r["type"],
                r["level"],
                *counts,
                *numbers,
                fleiss["value"],
                cohen["mean"],
                r["outside_schema"],
                why,
            ]
        )
    return header, rows


def pairs_table(dashboard: Mapping[str, Any], names: Sequence[str] | None = None) -> Table:
    header = ["field", "choice", "weights", "annotator_a", "annotator_b", "kappa", "shared_items", "reason"]
    rows = []
    for name in names or dashboard["field_order"]:
        for choice, part in field_parts(dashboard["fields"][name]):
            variants = [part["cohen"], *(part.get("cohen_weighted") or {}).values()]
            for pairwise in variants:
                rows += _pair_rows(name, choice, pairwise)
    return header, rows


def _pair_rows(name: str, choice: str | None, pairwise: Mapping[str, Any]) -> list[list[Any]]:
    people = pairwise["annotators"]
    reasons = {(u["a"], u["b"]): u["reason"] for u in pairwise["undefined"]}
    rows = []
    for i, a in enumerate(people):
        for j in range(i + 1, len(people)):
            b = people[j]
            kappa = pairwise["kappa"][i][j]
            why = None if kappa is not None else reasons.get((a, b), "undefined")
            weights = pairwise["weights"] or "none"
            rows.append([name, choice, weights, a, b, kappa, pairwise["shared_items"][i][j], why])
    return rows


def annotators_table(dashboard: Mapping[str, Any], names: Sequence[str] | None = None) -> Table:
    header = [
        "field",
        "annotator",
        "n_ratings",
        "consensus_agreement",
        "consensus_items",
        "final_agreement",
        "final_items",
        "gold_accuracy",
        "gold_items",
        "submissions",
        "rejection_rate",
        "items_per_hour",
        "median_seconds",
        "timed_submissions",
    ]
    rows = []
    for name in names or dashboard["field_order"]:
        for r in dashboard["fields"][name]["annotators"]["rows"]:
            shares = [r[k] for k in ("consensus_agreement", "final_agreement", "gold_accuracy")]
            quality = [x for s in shares for x in (s["value"], s["n"])]
            rejection = r["rejection_rate"]
            pace = [
                rejection["n"],
                rejection["value"],
                r["items_per_hour"],
                r["median_seconds"],
                r["n_timed"],
            ]
            rows.append([name, r["annotator"], r["n_ratings"], *quality, *pace])
    return header, rows


def trend_table(dashboard: Mapping[str, Any], names: Sequence[str] | None = None) -> Table:
    header = ["field", "choice", "week", "n_items", "percent_agreement", "alpha", "reason"]
    rows = []
    for name in names or dashboard["field_order"]:
        report = dashboard["fields"][name]
        parts: list[tuple[str | None, Any]] = [(None, report["weekly"])] if "weekly" in report else []
        parts += [(c, p["weekly"]) for c, p in field_parts(report) if c is not None]
        for choice, weekly in parts:
            for w in weekly["weeks"]:
                agreement, alpha = w["percent_agreement"], w["alpha"]
                why = alpha["reason"] or agreement["reason"]
                rows.append([name, choice, w["week"], w["n_items"], agreement["value"], alpha["value"], why])
    return header, rows


def confusion_table(dashboard: Mapping[str, Any], names: Sequence[str] | None = None) -> Table:
    header = ["field", "annotator", "their_label", "final_label", "count"]
    rows = []
    for name in names or dashboard["field_order"]:
        block = dashboard["fields"][name]["annotators"]
        labels = block["labels"]
        if labels is None:
            continue
        for r in block["rows"]:
            for i, row in enumerate(r["confusion"] or []):
                rows += [[name, r["annotator"], labels[i], labels[j], n] for j, n in enumerate(row)]
    return header, rows


def boundary_table(dashboard: Mapping[str, Any], names: Sequence[str] | None = None) -> Table:
    header = ["statistic", "value", "ci_low", "ci_high", "n_items", "reason"]
    b = dashboard["boundary"]
    if "alpha" not in b:
        return header, [["boundary consistency", None, None, None, 0, b["reason"]]]
    rows = [
        ["boundary items", b["n_boundary_items"], None, None, b["n_items"], b["reason"]],
        ["share flagged must_refuse", b["refuse_share"], None, None, b["n_items"], None],
    ]
    for label, key in (("percent agreement", "percent_agreement"), ("Krippendorff's alpha", "alpha")):
        e = b[key]
        rows.append([label, e["value"], e["ci_low"], e["ci_high"], e["n_items"], e["reason"]])
    rows.append(
        ["Fleiss' kappa", b["fleiss"]["value"], None, None, b["fleiss"]["n_items"], b["fleiss"]["reason"]]
    )
    rows.append(
        ["mean Cohen's kappa", b["cohen"]["mean"], None, None, b["n_items_pairable"], b["cohen"]["reason"]]
    )
    return header, rows


TABLES: dict[str, Callable[[Mapping[str, Any], Sequence[str] | None], Table]] = {
    "fields": fields_table,
    "pairs": pairs_table,
    "annotators": annotators_table,
    "trend": trend_table,
    "confusion": confusion_table,
    "boundary": boundary_table,
}


def dashboard_table(dashboard: Mapping[str, Any], table: str, names: Sequence[str] | None = None) -> Table:
    """One table by name (``fields`` always covers every field; the others ``names`` or all)."""
    build = TABLES.get(table)
    if build is None:
        raise InvalidInput(UNKNOWN_TABLE.format(table=table[:40], tables=", ".join(TABLES)))
    return build(dashboard, None if table == "fields" else names)
