"""The JSON reports: one field, the weekly trend, boundary consistency, and the CSV check of a pilot round."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.agreement import (
    NEEDS_TWO,
    Rating,
    Work,
    agreement_from_csv,
    annotator_pace,
    boundary_consistency,
    field_report,
    weekly_trend,
)
from flywheel.errors import InvalidInput, NotFound
from tests.annotate.agreement.strategies import CATEGORIES, ratings

MONDAY = datetime(2025, 1, 6, 9, tzinfo=UTC)  # ISO week 2025-W02
DIFFICULTY = ("easy", "medium", "hard")


def as_json(report: dict) -> dict:
    """Round-trips through strict JSON: NaN or a numpy number anywhere would fail here."""
    return json.loads(json.dumps(report, allow_nan=False))


def pilot_round() -> list[Rating]:
    rows = []
    for i in range(30):
        week = MONDAY + timedelta(weeks=i % 3)
        for a, shift in (("ann", 0), ("bob", i % 4 == 0), ("cy", i % 5 == 0)):
            value = DIFFICULTY[(i + shift) % 3]
            rows.append(Rating(f"t{i}", a, value, when=week, final=DIFFICULTY[i % 3], gold=None))
    return rows


def test_a_field_report_has_every_statistic_and_is_strict_json():
    work = [Work(r.annotator, r.item, seconds=40.0) for r in pilot_round()]
    report = field_report(
        pilot_round(), level="ordinal", categories=DIFFICULTY, pace=annotator_pace(work), field="difficulty"
    )
    assert as_json(report) == report
    assert report["field"] == "difficulty" and report["multi_choice"] is False
    assert report["categories"] == list(DIFFICULTY)
    assert (report["n_ratings"], report["n_items"], report["n_items_pairable"], report["n_annotators"]) == (
        90,
        30,
        30,
        3,
    )
    alpha = report["alpha"]
    assert alpha["ci_low"] < alpha["value"] < alpha["ci_high"] and alpha["resamples"] == 200
    assert set(report["cohen_weighted"]) == {"linear", "quadratic"}
    assert report["cohen"]["annotators"] == ["ann", "bob", "cy"]
    assert report["fleiss"]["raters_per_item"] == 3
    assert [w["week"] for w in report["weekly"]["weeks"]] == ["2025-W02", "2025-W03", "2025-W04"]
    assert report["annotators"]["labels"] == list(DIFFICULTY)
    ann = report["annotators"]["rows"][0]
    assert ann["annotator"] == "ann" and ann["final_agreement"]["value"] == 1.0
    assert ann["items_per_hour"] == pytest.approx(90.0) and len(ann["confusion"]) == 3


def test_a_report_on_one_annotator_says_why_each_statistic_is_missing():
    report = as_json(field_report([Rating("t1", "ann", "good"), Rating("t2", "ann", "bad")], level="nominal"))
    assert report["alpha"]["value"] is None and report["alpha"]["reason"] == NEEDS_TWO
    assert report["percent_agreement"] == {**report["percent_agreement"], "value": None, "reason": NEEDS_TWO}
    assert report["fleiss"]["reason"] == NEEDS_TWO
    assert report["cohen"]["reason"] == NEEDS_TWO


def test_an_empty_field_gives_an_empty_report_not_an_error():
    report = as_json(field_report([], level="nominal"))
    assert report["n_ratings"] == 0 and report["alpha"]["reason"] == NEEDS_TWO
    assert report["weekly"] == {"weeks": [], "n_items_undated": 0}


def test_a_multi_choice_field_is_reported_per_choice_and_as_whole_sets():
    rows = [
        Rating("t1", "ann", ["tone", "facts"], when=MONDAY, final=["facts", "tone"]),
        Rating("t1", "bob", ["facts", "tone"], when=MONDAY),
        Rating("t2", "ann", ["tone"], when=MONDAY),
        Rating("t2", "bob", [], when=MONDAY),
    ]
    report = as_json(field_report(rows, level="nominal", categories=("facts", "tone", "format")))
    assert report["multi_choice"] is True and report["choices"] == ["facts", "tone", "format"]
    assert report["exact_match"]["value"] == 0.5  # t1 same set, t2 not
    assert report["by_choice"]["facts"]["percent_agreement"]["value"] == 1.0
    assert report["by_choice"]["tone"]["percent_agreement"]["value"] == 0.5
    # Nobody ticked "format": every rating is False, so its kappa and alpha are 0/0, said so.
    assert report["by_choice"]["format"]["alpha"]["reason"].startswith(
        "every rating is the same value (False)"
    )
    assert report["annotators"]["labels"] is None  # no confusion matrix over sets
    assert report["annotators"]["rows"][0]["final_agreement"]["value"] == 1.0


def test_multi_choice_values_need_a_nominal_level():
    with pytest.raises(InvalidInput, match="level interval does not apply"):
        field_report([Rating("t", "a", ["x"])], level="interval")


def test_the_weekly_trend_puts_an_item_in_the_week_of_its_last_rating():
    rows = [
        Rating("t1", "ann", "x", when=MONDAY),
        Rating("t1", "bob", "x", when=MONDAY + timedelta(days=8)),  # t1 completes in W03
        Rating("t2", "ann", "x", when=MONDAY),
        Rating("t2", "bob", "y", when=MONDAY),
        Rating("t3", "ann", "x"),  # undated
        Rating("t3", "bob", "x"),
    ]
    trend = as_json(weekly_trend(rows, level="nominal"))
    assert [(w["week"], w["n_items"], w["percent_agreement"]["value"]) for w in trend["weeks"]] == [
        ("2025-W02", 1, 0.0),
        ("2025-W03", 1, 1.0),
    ]
    assert trend["n_items_undated"] == 1


def test_boundary_consistency_judges_must_refuse_on_boundary_items_only():
    rows = [Rating(f"b{i}", a, i % 2 == 0) for i in range(12) for a in ("ann", "bob")]
    rows += [Rating(f"n{i}", "ann", True) for i in range(5)] + [
        Rating(f"n{i}", "bob", False) for i in range(5)
    ]
    report = as_json(boundary_consistency(rows, boundary_items={f"b{i}" for i in range(12)}))
    assert report["field"] == "must_refuse" and report["sample_type"] == "boundary"
    assert report["n_items"] == 12 and report["percent_agreement"]["value"] == 1.0
    assert report["alpha"]["value"] == 1.0 and report["refuse_share"] == 0.5
    assert report["categories"] == [False, True]


@settings(max_examples=25, deadline=None)
@given(ratings(), st.sampled_from(["nominal", "ordinal"]))
def test_every_random_report_is_strict_json(rows, level):
    report = field_report(rows, level=level, categories=CATEGORIES, bootstrap=20, min_shared=1)
    assert as_json(report) == report


# --- CSV -----------------------------------------------------------------------------------------


def write(tmp_path, text: str):
    path = tmp_path / "pilot.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_pilot_csv_gives_the_same_report_as_the_same_ratings(tmp_path):
    lines = ["item,annotator,value"] + [f"{r.item},{r.annotator},{r.value}" for r in pilot_round()]
    report = agreement_from_csv(write(tmp_path, "\n".join(lines)), field="difficulty", level="nominal")
    direct = field_report([Rating(r.item, r.annotator, r.value) for r in pilot_round()], level="nominal")
    assert report["source"] == "pilot.csv" and report["field"] == "difficulty"
    assert report["alpha"] == direct["alpha"] and report["cohen"] == direct["cohen"]
    assert as_json(report) == report


def test_an_empty_value_is_a_missing_rating_and_numbers_are_parsed_for_interval(tmp_path):
    path = write(tmp_path, "item,annotator,value\nt1,ann,1\nt1,bob,2.5\nt1,cy,\nt2,ann,3\nt2,bob,3\n")
    report = agreement_from_csv(path, field="score", level="interval")
    assert report["n_ratings"] == 4 and report["categories"] is None
    assert report["alpha"]["n_pairable"] == 4


def test_a_bom_and_a_field_column_are_understood(tmp_path):
    text = "\ufeffitem,annotator,value,field\nt1,ann,x,verdict\nt1,bob,x,verdict\nt1,ann,5,score\n"
    report = agreement_from_csv(write(tmp_path, text), field="verdict", level="nominal")
    assert report["n_ratings"] == 2
    with pytest.raises(InvalidInput, match="has no rows for field 'tone'; its fields are score, verdict"):
        agreement_from_csv(write(tmp_path, text), field="tone", level="nominal")


def test_ordinal_values_in_a_csv_are_ordered_as_numbers_or_by_the_categories_given(tmp_path):
    path = write(tmp_path, "item,annotator,value\nt1,a,10\nt1,b,9\nt2,a,2\nt2,b,2\n")
    assert agreement_from_csv(path, field="f", level="ordinal")["categories"] == [2, 9, 10]
    words = write(tmp_path, "item,annotator,value\nt1,a,easy\nt1,b,hard\n")
    with pytest.raises(InvalidInput, match="value 'easy' is not a number"):
        agreement_from_csv(words, field="f", level="ordinal")
    report = agreement_from_csv(words, field="f", level="ordinal", categories=DIFFICULTY)
    assert report["categories"] == list(DIFFICULTY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; expected a header row with the columns item,annotator,value."),
        (
            "item,rater,label\nt1,a,x\n",
            "the header must name the columns item,annotator,value; it has item,rater,label.",
        ),
        ("item,annotator,value\n,a,x\n", "line 2: the item is empty"),
        ("item,annotator,value\nt1,a,x\nt1,a,y\n", "Annotator 'a' rated item 't1' more than once"),
    ],
)
def test_a_malformed_csv_says_what_is_wrong_and_where(tmp_path, text, message):
    with pytest.raises(InvalidInput) as raised:
        agreement_from_csv(write(tmp_path, text), field="f", level="nominal")
    assert message in str(raised.value)


def test_a_bad_number_names_its_line(tmp_path):
    path = write(tmp_path, "item,annotator,value\nt1,a,1\nt1,b,many\n")
    message = "line 3: value 'many' is not a number; interval fields need numbers"
    with pytest.raises(InvalidInput, match=message):
        agreement_from_csv(path, field="f", level="interval")


def test_a_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFound, match="No ratings file at"):
        agreement_from_csv(tmp_path / "nope.csv", field="f", level="nominal")
