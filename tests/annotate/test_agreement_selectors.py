"""Ratings from the database, shaped for the agreement core: missing values, gold, final, rounds, filters,
and the rows as the driver gives them (batches, times, labels that are no object)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from annotate.agreement import NEEDS_TWO
from annotate.agreement_filters import AgreementFilters, agreement_filters
from annotate.models import Annotation, Role, Sample
from annotate.selectors_agreement import agreement_schema, rating_data, rating_queries, work_list
from annotate.selectors_agreement.queries import batches
from annotate.services.agreement import agreement_dashboard
from annotate.services.review import requeue, review_fix, review_reject
from annotate.services.tasks import task_make_gold
from flywheel.errors import InvalidInput
from flywheel.models import Cluster
from tests.annotate.agreement_data import MONDAY, label, publish_sop, settle
from tests.annotate.conftest import make_tasks
from tests.factories import member

pytestmark = pytest.mark.django_db


def by_item(ratings):
    return {(r.item, r.annotator): r for r in ratings}


def test_each_active_annotation_gives_one_rating_per_field_and_text_fields_have_none(labeling):
    project, _, ann1, ann2 = labeling
    task = make_tasks(project, 1, required=2)[0]
    label(task, ann1, {"verdict": "bad", "difficulty": "hard", "notes": "see the refund policy"}, when=MONDAY)
    label(task, ann2, {"verdict": "good"}, when=MONDAY + timedelta(hours=1))
    data = rating_data(project=project, filters=AgreementFilters())
    assert [f.name for f in data.fields] == [
        "verdict",
        "error_types",
        "must_refuse",
        "sample_type",
        "task_type",
        "difficulty",
    ]
    assert "notes" not in data.ratings and "corrected_output" not in data.ratings
    verdict = by_item(data.ratings["verdict"])
    item = str(task.pk)
    assert verdict[(item, "ann1")].value == "bad" and verdict[(item, "ann2")].value == "good"
    assert verdict[(item, "ann1")].when == MONDAY
    # ann2 left the optional difficulty empty: a missing rating, not a category.
    difficulty = by_item(data.ratings["difficulty"])
    assert difficulty[(item, "ann1")].value == "hard" and (item, "ann2") not in difficulty
    # An unchecked must_refuse is an answer (false); nothing ticked in a multi-choice is [].
    assert by_item(data.ratings["must_refuse"])[(item, "ann2")].value is False
    assert by_item(data.ratings["error_types"])[(item, "ann2")].value == []
    assert (data.n_annotations, data.n_tasks, data.annotators) == (2, 1, ("ann1", "ann2"))


def test_the_level_and_categories_come_from_the_newest_published_sop(labeling):
    project, lead, *_ = labeling
    schema = agreement_schema(project)
    assert schema.spec("difficulty").level == "ordinal"
    assert schema.spec("difficulty").categories == ("easy", "medium", "hard")
    assert schema.spec("must_refuse").categories == (False, True)
    assert schema.spec("verdict").level == "nominal" and schema.has_boundary
    assert (schema.min_share, schema.min_votes) == (0.66, 2)
    publish_sop(
        project, lead, schema="fields:\n  - {name: score, type: number}\n  - {name: why, type: text}\n"
    )
    newest = agreement_schema(project)
    assert newest.sop_version == 2 and [(f.name, f.level) for f in newest.fields] == [("score", "interval")]
    assert not newest.has_boundary


def test_a_gold_task_carries_its_answer_and_a_final_sample_its_label(labeling):
    project, lead, ann1, ann2 = labeling
    gold, normal = make_tasks(project, 2, required=2)
    task_make_gold(task=gold, answer={"verdict": "bad", "difficulty": "easy"})
    for user, verdict in ((ann1, "bad"), (ann2, "good")):
        label(gold, user, {"verdict": verdict, "difficulty": "hard"})
        label(normal, user, {"verdict": verdict})
    settle(normal)  # no consensus: it waits for a lead
    review_fix(
        project=project, task_id=normal.pk, values={"verdict": "good", "sample_type": "golden"}, reviewer=lead
    )
    verdict = by_item(rating_data(project=project, filters=AgreementFilters()).ratings["verdict"])
    assert verdict[(str(gold.pk), "ann2")].gold == "bad" and verdict[(str(gold.pk), "ann2")].final is None
    assert (
        verdict[(str(normal.pk), "ann1")].final == "good" and verdict[(str(normal.pk), "ann1")].gold is None
    )
    difficulty = by_item(rating_data(project=project, filters=AgreementFilters()).ratings["difficulty"])
    assert difficulty[(str(gold.pk), "ann1")].gold == "easy"  # known even where the annotator erred
    assert (str(normal.pk), "ann1") not in difficulty  # left empty: no rating


def test_the_rows_come_in_batches_exactly_as_values_list_gives_them(labeling):
    project, _, ann1, ann2 = labeling
    gold, normal = make_tasks(project, 2, required=2)
    task_make_gold(task=gold, answer={"verdict": "bad", "notes": "never read"})
    for task in (gold, normal):
        label(task, ann1, {"verdict": "bad", "error_types": ["tone"]}, when=MONDAY, seconds=12.5)
        label(task, ann2, {"verdict": "bad", "error_types": ["tone"], "notes": "stays in the database"})
    settle(normal)
    queries = rating_queries(project, AgreementFilters(), agreement_schema(project))
    for name, query in queries.items():
        # The read takes the driver's rows by position: the SQL must keep the values_list order.
        assert [row for batch in batches(query) for row in batch] == list(query), name
        assert len(list(query)) == {"annotations": 4, "finals": 1, "gold": 1}[name]
    texts = [label for _, _, label, *_ in queries["annotations"]]
    assert all(
        isinstance(text, str) and "notes" not in text and "corrected_output" not in text for text in texts
    )


def test_submit_times_are_read_to_the_microsecond(labeling):
    project, _, ann1, ann2 = labeling
    task = make_tasks(project, 1, required=2)[0]
    moments = (
        MONDAY + timedelta(microseconds=123457),
        MONDAY + timedelta(days=400, seconds=1, microseconds=1),
    )
    label(task, ann1, {"verdict": "bad"}, when=moments[0])
    label(task, ann2, {"verdict": "bad"}, when=moments[1])
    data = rating_data(project=project, filters=AgreementFilters())
    assert sorted(r.when for r in data.ratings["verdict"]) == list(moments)
    expected = np.array([m.replace(tzinfo=None) for m in moments], dtype="datetime64[ns]")
    np.testing.assert_array_equal(np.sort(data.columns["verdict"].when), expected)


def test_a_stored_label_that_is_no_object_rates_nothing_but_counts_as_work(labeling):
    project, _, ann1, ann2 = labeling
    task, other = make_tasks(project, 2, required=2)
    for t in (task, other):
        label(t, ann1, {"verdict": "bad"})
        label(t, ann2, {"verdict": "bad"})
    settle(other)
    Annotation.objects.filter(task=task, annotator=ann1).update(values=["not", "an", "object"])
    Sample.objects.filter(task=other).update(values="not an object")
    data = rating_data(project=project, filters=AgreementFilters())
    verdict = by_item(data.ratings["verdict"])
    assert (str(task.pk), "ann1") not in verdict and verdict[(str(task.pk), "ann2")].value == "bad"
    assert verdict[(str(other.pk), "ann1")].final is None  # the final sample's label is unreadable
    assert len(data.work) == 4 and data.n_annotations == 4


def test_the_read_pauses_the_cycle_collector_only_while_rows_stream_in(labeling):
    project, _, ann1, _ = labeling
    label(make_tasks(project, 1)[0], ann1, {"verdict": "bad"})
    assert gc.isenabled()
    rating_data(project=project, filters=AgreementFilters())
    assert gc.isenabled()
    gc.disable()
    try:
        rating_data(project=project, filters=AgreementFilters())
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_a_requeued_task_counts_only_its_new_round_and_its_old_final_label_is_gone(labeling):
    project, lead, ann1, ann2 = labeling
    task = make_tasks(project, 1, required=2)[0]
    label(task, ann1, {"verdict": "bad"})
    label(task, ann2, {"verdict": "bad"})
    settle(task)
    assert Sample.objects.filter(task=task, status=Sample.Status.FINAL).count() == 1
    publish_sop(project, lead)
    assert requeue(project=project, user=lead) == 1
    task.refresh_from_db()
    assert task.round == 2
    assert rating_data(project=project, filters=AgreementFilters()).ratings["verdict"] == []
    label(task, ann1, {"verdict": "good"})
    [rating] = rating_data(project=project, filters=AgreementFilters()).ratings["verdict"]
    assert (rating.annotator, rating.value, rating.final) == ("ann1", "good", None)
    # The superseded round still counts as work done: three submissions, none rejected.
    work = work_list(project=project, filters=AgreementFilters())
    assert len(work) == 3 and not any(w.rejected for w in work)


def test_a_rejected_annotation_is_no_rating_but_a_rejected_submission(labeling):
    project, lead, ann1, ann2 = labeling
    task = make_tasks(project, 1, required=2)[0]
    first = label(task, ann1, {"verdict": "bad"}, seconds=40)
    label(task, ann2, {"verdict": "good"}, seconds=20)
    settle(task)
    review_reject(
        project=project, task_id=task.pk, annotation_id=first.pk, reviewer=lead, comment="read the SOP"
    )
    label(task, ann1, {"verdict": "good"}, seconds=60)  # the rework
    data = rating_data(project=project, filters=AgreementFilters())
    assert by_item(data.ratings["verdict"])[(str(task.pk), "ann1")].value == "good"
    assert len(data.ratings["verdict"]) == 2
    pace = agreement_dashboard(project, bootstrap=0)["pace"]
    assert pace["ann1"]["submitted"] == 2 and pace["ann1"]["rejected"] == 1
    assert pace["ann1"]["rejection_rate"] == {"value": 0.5, "n": 2, "reason": None}
    assert pace["ann1"]["median_seconds"] == 50.0 and pace["ann2"]["rejection_rate"]["value"] == 0.0


def test_filters_narrow_ratings_and_submissions_by_sop_version_cluster_and_time(labeling):
    project, lead, ann1, ann2 = labeling
    early, late, other = make_tasks(project, 3, required=2)
    elsewhere = Cluster.objects.create(project=project, number=12, name="refund · policy")
    other.cluster = elsewhere
    other.save(update_fields=["cluster"])
    v1 = project.sops.get(version=1)
    v2 = publish_sop(project, lead)
    label(early, ann1, {"verdict": "bad"}, when=MONDAY, sop=v1)
    label(late, ann1, {"verdict": "bad"}, when=MONDAY + timedelta(days=10), sop=v2)
    label(other, ann2, {"verdict": "good"}, when=MONDAY + timedelta(days=10), sop=v2)

    def items(**filters):
        chosen = AgreementFilters(**filters)
        data = rating_data(project=project, filters=chosen)
        ratings, work = data.ratings["verdict"], work_list(project=project, filters=chosen)
        assert sorted(w.item for w in work) == sorted(r.item for r in ratings)
        assert sorted(data.work, key=lambda w: w.item) == sorted(work, key=lambda w: w.item)
        return sorted(int(r.item) for r in ratings)

    assert items() == [early.pk, late.pk, other.pk]
    assert items(sop_versions=(1,)) == [early.pk]
    assert items(clusters=(12,)) == [other.pk]
    assert items(since=MONDAY + timedelta(days=1)) == [late.pk, other.pk]
    assert items(until=MONDAY + timedelta(days=1)) == [early.pk]
    assert items(sop_versions=(2,), clusters=(1,)) == [late.pk]


def test_only_the_chosen_fields_are_read_and_a_text_or_unknown_field_is_refused_by_name(labeling):
    project, *_ = labeling
    data = rating_data(project=project, filters=AgreementFilters(fields=("difficulty",)))
    assert [f.name for f in data.fields] == ["difficulty"]
    with pytest.raises(InvalidInput, match="Field 'notes' is free text"):
        rating_data(project=project, filters=AgreementFilters(fields=("notes",)))
    with pytest.raises(InvalidInput, match=r"no field 'verdikt' \(did you mean verdict\?\)"):
        rating_data(project=project, filters=AgreementFilters(fields=("verdikt",)))


def test_values_an_older_sop_allowed_are_kept_for_nominal_fields_and_counted_out_for_ordinal_ones(labeling):
    project, _, ann1, ann2 = labeling
    task = make_tasks(project, 1, required=2)[0]
    v1 = project.sops.get(version=1)
    label(task, ann1, {"verdict": "bad"})
    Annotation.objects.filter(annotator=ann1).update(
        values={"verdict": "unsure", "difficulty": "extreme", "must_refuse": "yes", "error_types": ["typo"]}
    )
    label(task, ann2, {"verdict": "good", "difficulty": "easy"}, sop=v1)
    data = rating_data(project=project, filters=AgreementFilters())
    spec = {f.name: f for f in data.fields}
    assert spec["verdict"].categories == ("good", "bad", "unsure")
    assert spec["error_types"].categories[-1] == "typo"
    assert spec["difficulty"].categories == ("easy", "medium", "hard")
    assert data.outside_schema == {
        "verdict": 0,
        "error_types": 0,
        "must_refuse": 1,
        "sample_type": 0,
        "task_type": 0,
        "difficulty": 1,
    }
    report = agreement_dashboard(project, bootstrap=0)
    assert report["fields"]["difficulty"]["outside_schema"] == 1
    assert report["fields"]["difficulty"]["n_ratings"] == 1
    assert report["fields"]["verdict"]["categories"] == ["good", "bad", "unsure"]


def test_boundary_items_are_those_whose_final_label_or_most_votes_say_boundary(labeling):
    project, _, ann1, ann2 = labeling
    final_boundary, final_other, tie, minority = make_tasks(project, 4, required=2)
    ann3 = member(project, Role.ANNOTATOR, username="ann3")
    for task in (final_boundary, final_other):
        label(task, ann1, {"sample_type": "boundary", "must_refuse": True})
        label(task, ann2, {"sample_type": "boundary", "must_refuse": True})
        settle(task)
    Sample.objects.filter(task=final_other).update(values={"sample_type": "negative", "must_refuse": False})
    label(tie, ann1, {"sample_type": "boundary", "must_refuse": True})
    label(tie, ann2, {"sample_type": "negative"})
    for user, kind in ((ann1, "boundary"), (ann2, "generic"), (ann3, "generic")):
        label(minority, user, {"sample_type": kind})
    data = rating_data(project=project, filters=AgreementFilters())
    assert data.boundary_items == {str(final_boundary.pk), str(tie.pk)}
    boundary = agreement_dashboard(project, bootstrap=0)["boundary"]
    assert boundary["n_boundary_items"] == 2 and boundary["n_ratings"] == 4
    assert boundary["percent_agreement"]["value"] == pytest.approx(0.5)  # one item agrees, one does not
    assert boundary["refuse_share"] == pytest.approx(0.75)


def test_one_annotator_gives_undefined_statistics_with_the_reason_not_an_error(labeling):
    project, _, ann1, _ = labeling
    for task in make_tasks(project, 3):
        label(task, ann1, {"verdict": "bad", "difficulty": "easy"})
    report = agreement_dashboard(project)
    verdict = report["fields"]["verdict"]
    assert verdict["n_annotators"] == 1 and verdict["n_items_pairable"] == 0
    for statistic in (verdict["alpha"], verdict["percent_agreement"], verdict["fleiss"], verdict["cohen"]):
        assert statistic["reason"] == NEEDS_TWO
    assert verdict["alpha"]["value"] is None
    assert report["boundary"]["reason"] == "no boundary samples among the filtered annotations"


def test_an_empty_project_gives_an_empty_dashboard(labeling):
    project, *_ = labeling
    report = agreement_dashboard(project)
    assert report["counts"] == {"annotations": 0, "tasks": 0, "annotators": 0, "submissions": 0}
    assert report["fields"]["verdict"]["alpha"]["reason"] == NEEDS_TWO and report["pace"] == {}


def test_hand_checked_numbers_two_annotators_disagree_on_one_of_four_items(labeling):
    project, _, ann1, ann2 = labeling
    tasks = make_tasks(project, 4, required=2)
    for i, task in enumerate(tasks):
        label(task, ann1, {"verdict": "bad" if i < 2 else "good"}, seconds=30)
        label(task, ann2, {"verdict": "bad" if i < 1 else "good"}, seconds=90)
    verdict = agreement_dashboard(project, bootstrap=0)["fields"]["verdict"]
    assert verdict["percent_agreement"]["value"] == pytest.approx(0.75)
    # Cohen: p_o = 3/4; ann1 says bad 2/4, ann2 1/4: p_e = 2/4*1/4 + 2/4*3/4 = 1/2; kappa = 0.5.
    cohen = verdict["cohen"]
    assert cohen["annotators"] == ["ann1", "ann2"] and cohen["shared_items"][0][1] == 4
    # 4 shared items is under the 10 a pair needs by default: said, not computed.
    assert cohen["kappa"][0][1] is None and "only 4 shared item(s)" in cohen["undefined"][0]["reason"]
    ann1_row = next(r for r in verdict["annotators"]["rows"] if r["annotator"] == "ann1")
    # With one other annotator, "consensus" needs 2 votes: the rule never holds, and says so.
    assert ann1_row["consensus_agreement"]["reason"] == "no item where the other annotators reached consensus"
    assert ann1_row["items_per_hour"] == pytest.approx(120.0) and ann1_row["median_seconds"] == 30.0


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, AgreementFilters()),
        (
            {"field": "verdict", "sop": "3,2", "cluster": ["C12", "4"]},
            AgreementFilters(("verdict",), (2, 3), (4, 12)),
        ),
        (
            {"from": "2026-03-01", "to": "2026-03-31"},
            AgreementFilters(since=datetime(2026, 3, 1, tzinfo=UTC), until=datetime(2026, 4, 1, tzinfo=UTC)),
        ),
        ({"since": "2026-03-01T06:00:00Z"}, AgreementFilters(since=datetime(2026, 3, 1, 6, tzinfo=UTC))),
    ],
)
def test_query_parameters_become_filters(params, expected):
    assert agreement_filters(params) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sop": "v2"}, "sop takes SOP version numbers such as 3 or 2,3; got 'v2'."),
        ({"cluster": "twelve"}, "cluster takes cluster numbers such as C12 or 12; got 'twelve'."),
        ({"from": "March"}, "from takes a date (2026-03-01) or an ISO 8601 time"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "The time window is empty"),
        ({"field": "a;b"}, "field takes a field name"),
    ],
)
def test_a_bad_filter_is_refused_saying_what_is_expected(params, message):
    with pytest.raises(
        InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        agreement_filters(params)
