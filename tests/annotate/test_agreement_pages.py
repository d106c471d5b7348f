"""The agreement dashboard, its CSV downloads and API, the gate, and raw annotation export / import."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta

import pytest
from django.test import Client

from annotate.agreement import annotator_pace, boundary_consistency, field_report
from annotate.agreement_filters import AgreementFilters
from annotate.models import Annotation, Assignment, Role, Sample, Task
from annotate.selectors_agreement import rating_data
from annotate.services.agreement import GATE_MIN_ITEMS, agreement_dashboard, agreement_gate
from flywheel.errors import InvalidInput
from tests.annotate.agreement_data import MONDAY, label, settle
from tests.annotate.conftest import make_tasks
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, UserFactory, member

pytestmark = pytest.mark.django_db

LEVELS = ("easy", "medium", "hard")
REFUSAL = "I'm sorry, but I can't help with that request."


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rated(labeling):
    """12 tasks labeled by ann1 and ann2 over two weeks: they differ on verdict for every 4th, on
    difficulty for every 3rd; tasks that agree are settled by consensus (a final label)."""
    project, lead, ann1, ann2 = labeling
    tasks = make_tasks(project, 12, required=2)
    for i, task in enumerate(tasks):
        when = MONDAY + timedelta(days=i)
        kind = "boundary" if i % 2 else "golden"
        first = {
            "verdict": "bad",
            "difficulty": LEVELS[i % 3],
            "sample_type": kind,
            "must_refuse": i % 2 == 1,
        }
        if first["must_refuse"]:
            first["corrected_output"] = REFUSAL
        second = {**first, "difficulty": LEVELS[(i + (i % 3 == 0)) % 3]}
        if i % 4 == 0:
            second["verdict"] = "good"
        label(task, ann1, first, when=when, seconds=30 + i)
        label(task, ann2, second, when=when + timedelta(minutes=5), seconds=60)
        settle(task)
    return project, lead, ann1, ann2, tasks


def test_the_page_shows_headline_numbers_charts_tables_and_the_boundary_panel(rated):
    project, lead, *_ = rated
    response = client_for(lead).get(f"/projects/{project.pk}/agreement/?field=difficulty")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Krippendorff's alpha" in html and "95 % CI" in html
    assert html.count('<svg class="heatmap"') == 4  # unweighted, linear, quadratic + boundary
    assert '<svg class="trend"' in html and '<svg class="confusion"' in html
    assert "Boundary consistency" in html and "6 boundary samples" in html
    dashboard = response.context["dashboard"]
    assert response.context["field"] == "difficulty"
    assert dashboard["fields"]["difficulty"]["n_items_pairable"] == 12


def test_the_dashboard_read_as_columns_gives_the_numbers_rating_records_give(rated):
    # The page's numbers come from the columnar read; the same ratings as records (the CSV path,
    # field by field) must give every number alike, to the last bit.
    project, *_ = rated
    dashboard = agreement_dashboard(project)
    data = rating_data(project=project, filters=AgreementFilters())
    pace = annotator_pace(data.work)
    rule = {"min_share": data.schema.min_share, "min_votes": data.schema.min_votes}
    for spec in data.fields:
        report = field_report(
            data.ratings[spec.name],
            level=spec.level,
            categories=spec.categories,
            pace=pace,
            field=spec.name,
            **rule,
        )
        shown = {
            k: v
            for k, v in dashboard["fields"][spec.name].items()
            if k not in ("label", "type", "outside_schema")
        }
        assert shown == report, spec.name
    boundary = boundary_consistency(data.ratings["must_refuse"], boundary_items=data.boundary_items)
    assert {k: dashboard["boundary"][k] for k in boundary} == boundary
    assert dashboard["boundary"]["n_boundary_items"] == 6
    assert dashboard["pace"] == {
        name: {"submitted": p.submitted, "rejected": p.rejected, **p.to_dict()} for name, p in pace.items()
    }


def test_an_unknown_field_or_filter_is_explained_on_the_page_not_a_crash(rated):
    project, lead, *_ = rated
    client = client_for(lead)
    response = client.get(f"/projects/{project.pk}/agreement/?field=verdikt")
    assert response.status_code == 400
    assert "no field &#x27;verdikt&#x27; (did you mean verdict?)" in response.content.decode()
    response = client.get(f"/projects/{project.pk}/agreement/?from=yesterday")
    assert response.status_code == 400 and "from takes a date" in response.content.decode()
    csv_response = client.get(f"/projects/{project.pk}/agreement/?format=csv&table=nonsense")
    assert csv_response.status_code == 400
    assert csv_response.content.decode().startswith(
        "Unknown table 'nonsense'; the downloads are fields, pairs"
    )


def test_a_project_without_a_published_sop_says_so_on_the_page():
    project = ProjectFactory()
    lead = member(project, Role.LEAD)
    response = client_for(lead).get(f"/projects/{project.pk}/agreement/")
    assert response.status_code == 404 and "has no published SOP yet" in response.content.decode()


def read_csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("table", ["fields", "pairs", "annotators", "trend", "confusion", "boundary"])
def test_every_table_downloads_as_csv_with_the_numbers_the_page_shows(rated, table):
    project, lead, *_ = rated
    client = client_for(lead)
    page = client.get(f"/projects/{project.pk}/agreement/?field=difficulty").context["dashboard"]
    rows = read_csv(
        client.get(f"/projects/{project.pk}/agreement/?field=difficulty&format=csv&table={table}")
    )
    difficulty = page["fields"]["difficulty"]
    if table == "fields":
        assert [r["field"] for r in rows] == page["field_order"]
        row = rows[-1]
        assert float(row["alpha"]) == pytest.approx(difficulty["alpha"]["value"])
        assert float(row["alpha_ci_low"]) == pytest.approx(difficulty["alpha"]["ci_low"])
        assert rows[1]["reason"].startswith("multi-choice")  # error_types: per choice
    elif table == "pairs":
        assert [(r["weights"], r["annotator_a"], r["annotator_b"]) for r in rows] == [
            ("none", "ann1", "ann2"),
            ("linear", "ann1", "ann2"),
            ("quadratic", "ann1", "ann2"),
        ]
        assert float(rows[0]["kappa"]) == pytest.approx(difficulty["cohen"]["kappa"][0][1])
        assert rows[0]["shared_items"] == "12"
    elif table == "annotators":
        assert [r["annotator"] for r in rows] == ["ann1", "ann2"]
        assert rows[0]["submissions"] == "12" and float(rows[0]["rejection_rate"]) == 0.0
        assert rows[0]["gold_accuracy"] == "" and rows[0]["gold_items"] == "0"  # no gold task: empty, not 0
    elif table == "trend":
        assert [r["week"] for r in rows] == ["2026-W10", "2026-W11"]
        assert sum(int(r["n_items"]) for r in rows) == 12
    elif table == "confusion":
        assert len(rows) == 2 * 3 * 3
        counts = {(r["annotator"], r["their_label"], r["final_label"]): int(r["count"]) for r in rows}
        assert counts[("ann1", "hard", "hard")] == 3
    else:
        stats = {r["statistic"]: r for r in rows}
        assert stats["boundary items"]["value"] == "6"
        assert float(stats["percent agreement"]["value"]) == 1.0
        assert "every rating is the same value" in stats["Krippendorff's alpha"]["reason"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(rated):
    project, lead, _, _, tasks = rated
    evil = member(project, Role.ANNOTATOR, username='=HYPERLINK("http://x.test","hi")')
    plus = member(project, Role.ANNOTATOR, username="+1-2")
    for task in tasks[:2]:
        label(task, evil, {"verdict": "bad"})
        label(task, plus, {"verdict": "bad"})
    rows = read_csv(
        client_for(lead).get(f"/projects/{project.pk}/agreement/?field=verdict&format=csv&table=annotators")
    )
    names = [r["annotator"] for r in rows]
    assert '\'=HYPERLINK("http://x.test","hi")' in names and "'+1-2" in names and "ann1" in names
    # Numbers stay numbers: a negative kappa is not text.
    pairs = read_csv(
        client_for(lead).get(f"/projects/{project.pk}/agreement/?field=verdict&format=csv&table=pairs")
    )
    assert all(not r["kappa"].startswith("'") for r in pairs)


@pytest.mark.parametrize(
    "text",
    ["=1+2", "+x", "-y", "@SUM(A1)", "\tcmd", "\rcmd", "'=x", "''@y", "'plain", "plain", "", "a=b"],
)
def test_the_csv_escape_is_undone_exactly_on_reading(text):
    from flywheel.csvsafe import TRIGGERS, restore_cell, safe_cell

    cell = safe_cell(text)
    assert restore_cell(cell) == text
    assert not cell.startswith(TRIGGERS)


def test_the_api_gives_the_numbers_the_page_shows(rated):
    project, lead, *_ = rated
    client = client_for(lead)
    page = client.get(f"/projects/{project.pk}/agreement/").context["dashboard"]
    whole = client.get(f"/api/projects/{project.pk}/agreement?fresh=1").json()  # recomputed, not cached
    timing = {"seconds", "computed_at", "cached"}
    assert whole["cached"] is False
    assert {k: v for k, v in whole.items() if k not in timing} == {
        k: v for k, v in page.items() if k not in timing
    }
    one = client.get(f"/api/projects/{project.pk}/agreement/?field=difficulty").json()
    assert (
        list(one["fields"]) == ["difficulty"] and one["fields"]["difficulty"] == page["fields"]["difficulty"]
    )
    assert one["boundary"] == page["boundary"]
    bad = client.get(f"/api/projects/{project.pk}/agreement?sop=latest")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("sop takes SOP version numbers")


def test_filters_reach_the_api_as_query_parameters(rated):
    project, lead, *_ = rated
    client = client_for(lead)
    first_week = client.get(
        f"/api/projects/{project.pk}/agreement?field=verdict&from=2026-03-02&to=2026-03-08"
    ).json()
    assert (
        first_week["counts"]["tasks"] == 7 and first_week["filters"]["until"] == "2026-03-09T00:00:00+00:00"
    )
    assert client.get(f"/api/projects/{project.pk}/agreement?cluster=C99").json()["counts"]["tasks"] == 0


def test_the_annotators_endpoint_gives_pace_and_per_field_quality(rated):
    project, lead, *_ = rated
    body = client_for(lead).get(f"/api/projects/{project.pk}/annotators/").json()
    ann1 = body["annotators"][0]
    assert ann1["annotator"] == "ann1" and ann1["submitted"] == 12
    assert ann1["rejection_rate"] == {"value": 0.0, "n": 12, "reason": None}
    assert ann1["median_seconds"] == pytest.approx(35.5)
    assert ann1["fields"]["verdict"]["final_agreement"]["n"] == 6  # the 6 tasks settled by consensus
    assert set(ann1["fields"]) == {
        "verdict",
        "error_types",
        "must_refuse",
        "sample_type",
        "task_type",
        "difficulty",
    }


def test_the_gate_passes_fails_and_says_why_alpha_is_undefined(rated):
    project, *_ = rated
    alpha = agreement_gate(project=project, field="difficulty", min_alpha=0.0, min_items=10).alpha
    passed = agreement_gate(project=project, field="difficulty", min_alpha=0.7, min_items=10)
    assert passed.passed and passed.alpha == pytest.approx(alpha) and passed.n_items == 12
    assert passed.ci_low <= passed.alpha <= passed.ci_high
    assert passed.reason.startswith(f"alpha {alpha:.3f} on 12 overlapped items is at least the bound 0.7")
    failed = agreement_gate(project=project, field="difficulty", min_alpha=0.8, min_items=10)
    assert not failed.passed and "is below the bound 0.8" in failed.reason and "95% CI" in failed.reason
    few = agreement_gate(project=project, field="difficulty", min_alpha=0.5)
    assert not few.passed and few.alpha is None and few.n_items == 12
    assert few.reason == (
        "only 12 overlapped item(s) (labeled by at least 2 annotators) for field 'difficulty'; "
        f"the gate needs at least {GATE_MIN_ITEMS}"
    )
    perfect = agreement_gate(project=project, field="sample_type", min_alpha=0.99, min_items=10)
    assert perfect.passed and perfect.alpha == 1.0
    # Nobody ticked an error type: no variation, so alpha is 0/0 and the gate cannot pass.
    same = agreement_gate(project=project, field="error_types", min_alpha=0.5, min_items=10)
    assert not same.passed and same.alpha is None
    assert same.reason.startswith("alpha is undefined on 12 overlapped items: every rating is the same value")
    with pytest.raises(InvalidInput, match="free text"):
        agreement_gate(project=project, field="notes", min_alpha=0.5)


def test_the_gate_on_one_annotator_fails_with_the_overlap_it_needs(labeling):
    project, _, ann1, _ = labeling
    for task in make_tasks(project, 3):
        label(task, ann1, {"verdict": "bad"})
    result = agreement_gate(project=project, field="verdict", min_alpha=0.6, min_items=1)
    assert not result.passed and result.n_items == 0 and result.alpha is None
    assert "only 0 overlapped item(s)" in result.reason and "needs at least 1" in result.reason


@pytest.fixture
def twin(rated):
    """Another project with tasks on the same traces (same ids, another source), the same annotators."""
    project, lead, ann1, ann2, tasks = rated
    from annotate.services.sops import sop_bootstrap

    other = ProjectFactory(name="acme-copy")
    sop_bootstrap(project=other, user=lead)
    for user, role in ((lead, Role.LEAD), (ann1, Role.ANNOTATOR), (ann2, Role.ANNOTATOR)):
        from annotate.models import Membership

        Membership.objects.create(user=user, project=other, role=role)
    source = SourceFactory(project=other)
    copies = []
    for task in tasks:
        trace = TraceFactory(
            source=source, external_id=task.trace.external_id, conversation=task.trace.conversation
        )
        copies.append(
            Task.objects.create(
                project=other, trace=trace, model_answer=task.model_answer, required_annotations=2
            )
        )
    return project, other, lead, copies


def stored(project) -> list[tuple]:
    rows = Annotation.objects.filter(task__project=project).values_list(
        "task__trace__external_id",
        "annotator__username",
        "sop__version",
        "values",
        "created_at",
        "seconds_spent",
    )
    return sorted(rows, key=lambda r: (r[0], r[1]))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_imports_into_another_project_with_the_same_tasks_and_settles_them(twin, fmt):
    project, other, lead, _ = twin
    client = client_for(lead)
    response = client.get(f"/api/projects/{project.pk}/annotations/export?format={fmt}")
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    content_type = "text/csv" if fmt == "csv" else "application/json"
    imported = client.post(f"/api/projects/{other.pk}/annotations/import", body, content_type=content_type)
    assert imported.status_code == 201, imported.content
    assert imported.json() == {
        "rows": 24,
        "created": 24,
        "already_there": 0,
        "history": 0,
        "tasks_touched": 12,
        "tasks_completed": 12,
    }
    assert stored(other) == stored(project)
    for task in Task.objects.filter(project=other):
        assert (task.submitted_count, task.status) == (2, Task.Status.DONE)
    assert Assignment.objects.filter(task__project=other, status=Assignment.Status.SUBMITTED).count() == 24
    finals = Sample.objects.filter(project=other, status=Sample.Status.FINAL).count()
    assert finals == Sample.objects.filter(project=project, status=Sample.Status.FINAL).count() == 6
    lineage = Annotation.objects.filter(task__project=other).first().lineage
    assert lineage["imported"] is True and lineage["project"] == "acme-copy"
    # The same numbers on both sides.
    a = agreement_dashboard_of(project)["fields"]["difficulty"]
    b = agreement_dashboard_of(other)["fields"]["difficulty"]
    assert a["alpha"] == b["alpha"] and a["percent_agreement"] == b["percent_agreement"]


def agreement_dashboard_of(project):
    from annotate.services.agreement import agreement_dashboard

    return agreement_dashboard(project, bootstrap=20)


def test_importing_the_same_file_again_creates_nothing(twin):
    project, other, lead, _ = twin
    client = client_for(lead)
    body = b"".join(client.get(f"/api/projects/{project.pk}/annotations/export").streaming_content)
    first = client.post(f"/api/projects/{other.pk}/annotations/import", body, content_type="text/csv")
    assert first.json()["created"] == 24
    again = client.post(f"/api/projects/{other.pk}/annotations/import", body, content_type="text/csv")
    assert again.status_code == 200 and again.json()["created"] == 0 and again.json()["already_there"] == 24
    # Re-importing a project's own export into itself is a no-op too.
    own = client.post(f"/api/projects/{project.pk}/annotations/import", body, content_type="text/csv")
    assert own.json()["created"] == 0 and Annotation.objects.filter(task__project=project).count() == 24


def test_a_bad_row_is_named_by_row_and_field_and_nothing_of_the_file_is_written(twin):
    project, other, lead, _ = twin
    client = client_for(lead)
    body = b"".join(client.get(f"/api/projects/{project.pk}/annotations/export").streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    header = rows[0]
    rows[3][header.index("values.verdict")] = "maybe"
    rows[5][header.index("annotator")] = "nobody"
    rows[6][header.index("trace_id")] = "trace-missing"
    rows[7][header.index("seconds")] = "-4"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = client.post(
        f"/api/projects/{other.pk}/annotations/import", out.getvalue(), content_type="text/csv"
    )
    assert response.status_code == 400
    errors = [(e["row"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(3, "values.verdict"), (5, "annotator"), (6, "trace_id"), (7, "seconds")]
    first = response.json()["errors"][0]["message"]
    assert first == "verdict: 'maybe' is not one of the choices"
    assert response.json()["detail"].startswith(
        "4 row(s) of the file are not valid, so nothing was imported."
    )
    assert not Annotation.objects.filter(task__project=other).exists()
    assert not Assignment.objects.filter(task__project=other).exists()
    assert set(Task.objects.filter(project=other).values_list("submitted_count", flat=True)) == {0}


def test_the_command_exports_to_a_file_and_imports_it_elsewhere(twin, tmp_path):
    from django.core.management import call_command

    project, other, *_ = twin
    target = tmp_path / "out.json"
    call_command("annotations", "export", "--project", project.name, "--format", "json", "--out", str(target))
    rows = json.loads(target.read_text())
    assert len(rows) == 24 and set(rows[0]) >= {
        "task",
        "trace_id",
        "annotator",
        "values",
        "lineage",
        "seconds",
    }
    assert not list(tmp_path.glob(".*.part"))  # written atomically: no temporary file left
    out = io.StringIO()
    call_command("annotations", "import", "--project", other.name, str(target), stdout=out)
    assert json.loads(out.getvalue())["created"] == 24
    out = io.StringIO()
    call_command("annotations", "import", "--project", other.name, str(target), stdout=out)
    assert json.loads(out.getvalue())["already_there"] == 24


def test_the_command_lists_bad_rows_and_exits_65(twin, tmp_path):
    from django.core.management import call_command

    _, other, *_ = twin
    bad = tmp_path / "bad.csv"
    bad.write_text("trace_id,annotator,sop_version,values.verdict\ntrace-x,ann1,7,good\n")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("annotations", "import", "--project", other.name, str(bad), stderr=err)
    assert exit_.value.code == 65
    assert (
        "row 1 (line 2), sop_version: must be a published SOP version of this project (v1; got '7')"
        in err.getvalue()
    )
    assert not Annotation.objects.filter(task__project=other).exists()


# (path, method, body) -> status per role: anonymous, outsider, annotator, lead, admin.
ENDPOINTS = {
    "page": ("/projects/{p}/agreement/", "get", None, (302, 404, 404, 200, 200)),
    "page csv": ("/projects/{p}/agreement/?format=csv&table=pairs", "get", None, (302, 404, 404, 200, 200)),
    "api agreement": ("/api/projects/{p}/agreement", "get", None, (403, 404, 403, 200, 200)),
    "api agreement/": ("/api/projects/{p}/agreement/", "get", None, (403, 404, 403, 200, 200)),
    "api annotators": ("/api/projects/{p}/annotators/", "get", None, (403, 404, 403, 200, 200)),
    "api export csv": (
        "/api/projects/{p}/annotations/export?format=csv",
        "get",
        None,
        (403, 404, 403, 200, 200),
    ),
    "api export json": (
        "/api/projects/{p}/annotations/export?format=json",
        "get",
        None,
        (403, 404, 403, 200, 200),
    ),
    "api import": (
        "/api/projects/{p}/annotations/import",
        "post",
        "trace_id,annotator,sop_version\n",
        (403, 404, 403, 200, 200),
    ),
}
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_only_leads_and_admins_reach_the_agreement_pages_and_endpoints(labeling, endpoint):
    project, lead, ann1, _ = labeling
    users = {
        "anonymous": None,
        "outsider": member(ProjectFactory(), Role.ANNOTATOR),
        "annotator": ann1,
        "lead": lead,
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    path, method, body, expected = ENDPOINTS[endpoint]
    got = []
    for who in WHO:
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        url = path.format(p=project.pk)
        response = client.post(url, body, content_type="text/csv") if method == "post" else client.get(url)
        got.append(response.status_code)
    assert tuple(got) == expected, f"{endpoint}: {dict(zip(WHO, got, strict=True))}"


def test_the_dashboard_is_reused_until_a_label_or_decision_changes_it(rated, settings):
    settings.AGREEMENT_REUSE_SECONDS = 0  # no reuse window: every change is seen on the next look
    project, lead, ann1, _, _ = rated
    client = client_for(lead)
    first = client.get(f"/projects/{project.pk}/agreement/?field=verdict").context["dashboard"]
    other_field = client.get(f"/projects/{project.pk}/agreement/?field=difficulty").context["dashboard"]
    assert (
        not first["cached"] and other_field["cached"] and other_field["computed_at"] == first["computed_at"]
    )
    assert client.get(f"/api/projects/{project.pk}/agreement").json()["cached"] is True
    extra = make_tasks(project, 1)[0]
    label(extra, ann1, {"verdict": "good"})
    after = client.get(f"/projects/{project.pk}/agreement/").context["dashboard"]
    assert not after["cached"] and after["counts"]["annotations"] == first["counts"]["annotations"] + 1
    fresh = client.get(f"/projects/{project.pk}/agreement/?fresh=1")
    assert not fresh.context["dashboard"]["cached"]


def test_while_labels_arrive_a_result_younger_than_the_reuse_window_is_shown_with_its_time(
    rated, settings, monkeypatch
):
    settings.AGREEMENT_REUSE_SECONDS = 120
    project, lead, ann1, _, _ = rated
    client = client_for(lead)
    now = [time.time()]  # time.time itself is patched (the cache's expiry reads it too): from now on
    monkeypatch.setattr(time, "time", lambda: now[0])
    first = client.get(f"/projects/{project.pk}/agreement/").context["dashboard"]
    label(make_tasks(project, 1)[0], ann1, {"verdict": "good"})
    now[0] += 119
    page = client.get(f"/projects/{project.pk}/agreement/")
    reused = page.context["dashboard"]
    assert reused["cached"] and reused["computed_at"] == first["computed_at"]
    assert reused["counts"] == first["counts"]  # the new label is not counted yet
    assert "reused for up to 120 s while labels arrive" in page.content.decode()
    now[0] += 2  # past the window: the labels changed, so it is computed again
    after = client.get(f"/api/projects/{project.pk}/agreement").json()
    assert not after["cached"] and after["counts"]["annotations"] == first["counts"]["annotations"] + 1
    now[0] += 500  # past the window, nothing changed since: the result still holds
    assert client.get(f"/api/projects/{project.pk}/agreement").json()["cached"] is True
    label(make_tasks(project, 1)[0], ann1, {"verdict": "bad"})
    recomputed = client.get(f"/api/projects/{project.pk}/agreement?fresh=1").json()
    assert not recomputed["cached"]
    assert recomputed["counts"]["annotations"] == first["counts"]["annotations"] + 2


def test_an_imported_annotation_carries_the_lineage_keys_the_labeling_queue_writes(labeling):
    from annotate.services import queue

    project, lead, ann1, _ = labeling
    online, offline = make_tasks(project, 2)
    lease = queue.next_task(project=project, user=ann1)
    assert lease is not None and lease.task_id == online.pk
    submitted = queue.submit(
        assignment_id=lease.pk, user=ann1, values={"verdict": "good", "sample_type": "golden"}
    )
    header = "trace_id,annotator,sop_version,values.verdict,values.sample_type"
    body = f"{header}\n{offline.trace.external_id},ann1,1,bad,negative\n"
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/annotations/import", body, content_type="text/csv"
    )
    assert response.status_code == 201 and response.json()["tasks_completed"] == 1
    imported = Annotation.objects.get(task=offline)
    assert set(imported.lineage) - {"imported"} == set(submitted.lineage)
    assert (
        imported.lineage["source_id"] == offline.trace.external_id
        and imported.lineage["sample_type"] == "negative"
    )
    offline.refresh_from_db()
    assert offline.review == Task.Review.PENDING  # one vote: it waits in the review queue
