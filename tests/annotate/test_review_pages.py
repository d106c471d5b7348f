"""The review pages and API: what a lead sees and does, and who may reach any of it."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Annotation, LabelingPolicy, ReviewAction, Role, Sample, Task
from annotate.services import queue, review
from annotate.services.sops import sop_bootstrap
from tests.annotate.conftest import GOOD, make_tasks
from tests.annotate.review_helpers import DISAGREE, FAST_HASHERS, label, publish_new_sop
from tests.factories import ProjectFactory, UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Test users need a password, not a slow hash of one (PBKDF2 costs ~0.7 s a user here)."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewing(labeling):
    """One disagreement (task 0) and two single-annotated items, all pending."""
    project, lead, ann1, ann2 = labeling
    LabelingPolicy.objects.filter(project=project).update(review_sample_rate=0.0)
    disputed = make_tasks(project, 1, required=2)[0]
    singles = make_tasks(project, 2)
    Task.objects.filter(pk=disputed.pk).update(priority=100)
    label(project, ann1)
    label(project, ann2, DISAGREE)
    label(project, ann1)
    label(project, ann1)
    return project, lead, ann1, ann2, disputed, singles


def test_the_queue_page_lists_the_disagreement_first_with_counts_per_bucket(reviewing):
    project, lead, _, _, disputed, singles = reviewing
    page = client_for(lead).get(f"/projects/{project.pk}/review/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/projects/{project.pk}/review/{disputed.pk}/" autofocus' in html  # the next item
    assert (
        html.index(f"#{disputed.pk}<") < html.index(f"#{singles[0].pk}<") < html.index(f"#{singles[1].pk}<")
    )
    assert 'data-bucket="0">Disagreement <span class="count">1</span>' in html
    assert 'data-bucket="2">The rest <span class="count">2</span>' in html


def test_the_queue_filters_by_bucket_cluster_and_sop_version(reviewing):
    project, lead, _, _, disputed, singles = reviewing
    lead_client = client_for(lead)
    rest = lead_client.get(f"/projects/{project.pk}/review/?bucket=2").content.decode()
    assert f"#{disputed.pk}<" not in rest and f"#{singles[0].pk}<" in rest
    assert "Accept all 2 single-annotated items in this bucket" in rest
    assert "Accept all" not in lead_client.get(f"/projects/{project.pk}/review/?bucket=0").content.decode()
    assert "No items." in lead_client.get(f"/projects/{project.pk}/review/?cluster=99").content.decode()
    assert "No items." in lead_client.get(f"/projects/{project.pk}/review/?sop=2").content.decode()
    assert (
        f"#{disputed.pk}<"
        in lead_client.get(f"/projects/{project.pk}/review/?sop=1&cluster=1").content.decode()
    )


def test_the_item_page_shows_every_annotation_side_by_side_with_the_differences_marked(reviewing):
    project, lead, _, _, disputed, _ = reviewing
    Annotation.objects.filter(task=disputed).update(seconds_spent=12.4)
    page = client_for(lead).get(f"/projects/{project.pk}/review/{disputed.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where is order 0?" in html and "the model&#x27;s answer" in html
    assert '<tr data-field="verdict" class="differs">' in html
    assert '<tr data-field="must_refuse">' in html  # both said no
    assert html.count('<th class="col"') == 2 and "<kbd>2</kbd> <strong>ann2</strong>" in html
    assert "SOP v1 · 12 s" in html
    assert (
        '<span class="del">- Your order shipped.' in html and '<span class="add">+ It shipped today.' in html
    )
    assert "Why a lead decides:</strong> verdict:" in html
    assert html.count('name="action" value="accept"') == 2 and 'name="action" value="reject"' in html
    assert 'id="fix-form"' in html


def test_accepting_from_the_page_makes_the_label_final_and_goes_to_the_next_item(reviewing):
    project, lead, ann1, _, disputed, singles = reviewing
    chosen = Annotation.objects.get(task=disputed, annotator=ann1)
    response = client_for(lead).post(
        f"/projects/{project.pk}/review/{disputed.pk}/", {"action": "accept", "annotation": chosen.pk}
    )
    assert (
        response.status_code == 302
        and response["Location"] == f"/projects/{project.pk}/review/{singles[0].pk}/"
    )
    sample = Sample.objects.get(task=disputed)
    assert (sample.decision, sample.reviewer, sample.values) == ("accepted", lead, chosen.values)


def test_the_next_item_keeps_the_filters(reviewing):
    project, lead, _, _, _, singles = reviewing
    chosen = Annotation.objects.get(task=singles[0])
    response = client_for(lead).post(
        f"/projects/{project.pk}/review/{singles[0].pk}/?bucket=2",
        {"action": "accept", "annotation": chosen.pk},
    )
    assert response["Location"] == f"/projects/{project.pk}/review/{singles[1].pk}/?bucket=2"


def test_an_unknown_task_is_not_found(reviewing):
    project, lead, *_ = reviewing
    assert client_for(lead).get(f"/projects/{project.pk}/review/99999/").status_code == 404
    assert client_for(lead).get(f"/api/projects/{project.pk}/review/99999/").status_code == 404


def test_the_last_decision_returns_to_the_empty_queue(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    annotation = label(project, ann1)
    lead_client = client_for(lead)
    response = lead_client.post(
        f"/projects/{project.pk}/review/{task.pk}/", {"action": "accept", "annotation": annotation.pk}
    )
    assert response["Location"] == f"/projects/{project.pk}/review/"
    assert "Nothing waits for a lead" in lead_client.get(response["Location"]).content.decode()


def test_an_invalid_fix_shows_the_errors_per_field_keeps_the_input_and_saves_nothing(reviewing):
    project, lead, _, _, disputed, _ = reviewing
    form = {
        "action": "fix",
        "f_verdict": "bad",
        "f_sample_type": "boundary",
        "f_must_refuse": "on",
        "f_corrected_output": "Your parcel arrives Monday.",
    }
    response = client_for(lead).post(f"/projects/{project.pk}/review/{disputed.pk}/", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "corrected_output must read as a refusal because must_refuse is set" in html
    assert "Your parcel arrives Monday.</textarea>" in html and '<details id="fix-box" open>' in html
    assert not Sample.objects.exists() and not ReviewAction.objects.exists()


def test_a_valid_fix_from_the_page_is_final(reviewing):
    project, lead, _, ann2, disputed, _ = reviewing
    based = Annotation.objects.get(task=disputed, annotator=ann2)
    form = {
        "action": "fix",
        "based_on": based.pk,
        "f_verdict": "bad",
        "f_sample_type": "negative",
        "f_corrected_output": "It arrives Monday.",
        "f_error_types": [],
        "comment": "neither had the date",
    }
    assert client_for(lead).post(f"/projects/{project.pk}/review/{disputed.pk}/", form).status_code == 302
    sample = Sample.objects.get(task=disputed)
    assert (sample.decision, sample.answer, sample.lineage["annotator"]) == (
        "fixed",
        "It arrives Monday.",
        "ann2",
    )
    assert ReviewAction.objects.get(task=disputed).comment == "neither had the date"


def test_a_rejection_without_a_comment_is_refused_and_with_one_goes_back_to_the_annotator(reviewing):
    project, lead, ann1, _, _, singles = reviewing
    annotation = Annotation.objects.get(task=singles[0])
    path = f"/projects/{project.pk}/review/{singles[0].pk}/"
    lead_client = client_for(lead)
    refused = lead_client.post(path, {"action": "reject", "annotation": annotation.pk, "comment": ""})
    assert refused.status_code == 400 and "Say what is wrong" in refused.content.decode()
    done = lead_client.post(
        path, {"action": "reject", "annotation": annotation.pk, "comment": "Use the SOP's date format."}
    )
    assert done.status_code == 302
    annotation.refresh_from_db()
    assert annotation.status == "rejected"
    item = lead_client.get(path).content.decode()
    assert "Sent back to <strong>ann1</strong> for rework" in item
    assert "<strong>reject</strong> by lead (annotation #" in item
    assert "“Use the SOP&#x27;s date format.”" in item
    home = client_for(ann1).get(f"/projects/{project.pk}/label/").content.decode()
    assert "1 item returned to you" in home and "Use the SOP&#x27;s date format." in home
    screen = client_for(ann1).post(f"/projects/{project.pk}/label/next/", follow=True).content.decode()
    assert 'id="rework"' in screen and "Sent back for rework by lead" in screen
    assert "Use the SOP&#x27;s date format." in screen
    assert "It ships tomorrow.</textarea>" in screen  # starts from the label that was sent back


def test_a_second_lead_on_a_decided_item_sees_who_decided(reviewing):
    project, lead, _, _, _, singles = reviewing
    other = member(project, Role.LEAD, username="lead2")
    annotation = Annotation.objects.get(task=singles[0])
    review.review_accept(project=project, task_id=singles[0].pk, annotation_id=annotation.pk, reviewer=lead)
    response = client_for(other).post(
        f"/projects/{project.pk}/review/{singles[0].pk}/", {"action": "accept", "annotation": annotation.pk}
    )
    assert response.status_code == 409 and "decided by lead" in response.content.decode()
    assert "Final label: <strong>Accepted by a lead</strong> by lead" in response.content.decode()


def test_bulk_accept_needs_the_confirmation_and_the_count_the_lead_saw(reviewing):
    project, lead, _, _, disputed, singles = reviewing
    lead_client = client_for(lead)
    path = f"/projects/{project.pk}/review/bulk-accept/"
    lead_client.post(path, {"bucket": 2, "expected": 2})
    assert not Sample.objects.exists()
    lead_client.post(path, {"bucket": 2, "expected": 3, "confirm": "yes"})
    assert not Sample.objects.exists()
    response = lead_client.post(path, {"bucket": 2, "expected": 2, "confirm": "yes"}, follow=True)
    assert "Accepted 2 single-annotated item(s)" in response.content.decode()
    assert set(Sample.objects.values_list("task_id", flat=True)) == {t.pk for t in singles}
    disputed.refresh_from_db()
    assert disputed.review == "pending"


def test_the_outdated_page_lists_old_labels_and_requeues_the_selected_ones(reviewing):
    project, lead, _, _, disputed, singles = reviewing
    lead_client = client_for(lead)
    path = f"/projects/{project.pk}/review/outdated/"
    assert "Every labeled item follows SOP v1" in lead_client.get(path).content.decode()
    publish_new_sop(project, lead)
    html = lead_client.get(path).content.decode()
    assert all(f'value="{t.pk}"' in html for t in [disputed, *singles]) and "Re-queue all 3" in html
    lead_client.post(path, {"scope": "selected", "tasks": [singles[0].pk]})
    singles[0].refresh_from_db()
    assert (singles[0].round, singles[0].review) == (2, "")
    lead_client.post(path, {"scope": "all"})
    assert not review.outdated_tasks(project).exists()
    assert "Select the items" in lead_client.post(path, {"scope": "selected"}, follow=True).content.decode()


def test_the_api_lists_the_queue_with_buckets_and_returns_an_item_with_its_comparison(reviewing):
    project, lead, _, _, disputed, singles = reviewing
    api = client_for(lead)
    listing = api.get(f"/api/projects/{project.pk}/review/").json()
    assert listing["count"] == 3
    assert [(r["task"], r["bucket"]) for r in listing["results"]] == [
        (disputed.pk, 0),
        (singles[0].pk, 2),
        (singles[1].pk, 2),
    ]
    assert listing["results"][0]["annotators"] == ["ann1", "ann2"] and listing["results"][0][
        "sop_versions"
    ] == [1]
    assert api.get(f"/api/projects/{project.pk}/review/?bucket=2&limit=1").json()["count"] == 2
    item = api.get(f"/api/projects/{project.pk}/review/{disputed.pk}/").json()
    assert item["task"]["bucket"] == 0 and item["sop_version"] == 1
    assert [a["annotator"] for a in item["annotations"]] == ["ann1", "ann2"]
    verdict = next(row for row in item["comparison"] if row["name"] == "verdict")
    assert verdict == {
        "name": "verdict",
        "label": "Verdict",
        "type": "choice",
        "values": ["bad", "good"],
        "differs": True,
        "minority": [False, False],
    }
    assert item["consensus"]["reached"] is False and "verdict" in item["consensus"]["reasons"]
    assert [h["kind"] for h in item["history"]] == ["annotation", "annotation"]
    assert {"op": "+", "text": "It shipped today."} in item["annotations"][1]["answer_diff"]


def test_the_api_accepts_fixes_and_rejects(reviewing):
    project, lead, ann1, _, disputed, singles = reviewing
    api = client_for(lead)
    base = f"/api/projects/{project.pk}/review"
    bad = api.post(
        f"{base}/{disputed.pk}/fix/", {"values": {**GOOD, "verdict": "meh"}}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["errors"] == {
        "verdict": ["verdict: 'meh' is not one of the choices"]
    }
    fixed = api.post(
        f"{base}/{disputed.pk}/fix/", {"values": GOOD, "comment": "ok"}, content_type="application/json"
    )
    assert (
        fixed.status_code == 200
        and fixed.json()["decision"] == "fixed"
        and fixed.json()["reviewer"] == "lead"
    )
    again = api.post(f"{base}/{disputed.pk}/fix/", {"values": GOOD}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "Conflict"
    first = Annotation.objects.get(task=singles[0])
    accepted = api.post(
        f"{base}/{singles[0].pk}/accept/", {"annotation": first.pk}, content_type="application/json"
    )
    assert accepted.status_code == 200 and accepted.json()["values"] == first.values
    second = Annotation.objects.get(task=singles[1])
    no_comment = api.post(
        f"{base}/{singles[1].pk}/reject/", {"annotation": second.pk}, content_type="application/json"
    )
    assert no_comment.status_code == 400 and "comment" in no_comment.json()
    rejected = api.post(
        f"{base}/{singles[1].pk}/reject/",
        {"annotation": second.pk, "comment": "redo"},
        content_type="application/json",
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    lease = queue.next_task(project=project, user=ann1)
    assert lease.task == singles[1] and lease.return_comment == "redo"
    samples = api.get(f"/api/projects/{project.pk}/samples/?status=final").json()
    assert {s["decision"] for s in samples["results"]} == {"fixed", "accepted"}
    assert api.get(f"/api/projects/{project.pk}/samples/?origin=variant").json()["count"] == 0


def test_the_api_bulk_accepts_and_requeues(reviewing):
    project, lead, _, _, disputed, singles = reviewing
    api = client_for(lead)
    base = f"/api/projects/{project.pk}/review"
    assert api.post(f"{base}/bulk-accept/", {"limit": 1}, content_type="application/json").json() == {
        "accepted": 1
    }
    assert api.post(f"{base}/bulk-accept/", {"bucket": 0}, content_type="application/json").status_code == 400
    assert api.post(f"{base}/bulk-accept/", {}, content_type="application/json").json() == {"accepted": 1}
    assert api.get(f"{base}/outdated/").json()["count"] == 0
    publish_new_sop(project, lead)
    outdated = api.get(f"{base}/outdated/").json()
    assert [r["task"] for r in outdated["results"]] == [disputed.pk, *[t.pk for t in singles]]
    assert outdated["results"][0]["sop_versions"] == [1]
    body = {"tasks": [singles[0].pk]}
    assert api.post(f"{base}/requeue/", body, content_type="application/json").json() == {"requeued": 1}
    assert api.post(f"{base}/requeue/", {}, content_type="application/json").json() == {"requeued": 2}


# --- who may reach what -------------------------------------------------------------------------
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")
PAGE_NO, API_NO = (302, 404, 404), (403, 404, 403)  # anonymous, outsider, annotator
# name: (method, path, body, expected for lead and admin); {p} project, {t} task, {a} its annotation
ENDPOINTS = {
    "page queue": ("get", "/projects/{p}/review/", None, (200, 200)),
    "page item": ("get", "/projects/{p}/review/{t}/", None, (200, 200)),
    "page outdated": ("get", "/projects/{p}/review/outdated/", None, (200, 200)),
    "page accept": (
        "post",
        "/projects/{p}/review/{t}/",
        {"action": "accept", "annotation": "{a}"},
        (302, 302),
    ),
    "page fix": (
        "post",
        "/projects/{p}/review/{t}/",
        {"action": "fix", "f_verdict": "bad", "f_sample_type": "negative"},
        (302, 302),
    ),
    "page reject": (
        "post",
        "/projects/{p}/review/{t}/",
        {"action": "reject", "annotation": "{a}", "comment": "x"},
        (302, 302),
    ),
    "page bulk accept": (
        "post",
        "/projects/{p}/review/bulk-accept/",
        {"bucket": 2, "expected": 1, "confirm": "yes"},
        (302, 302),
    ),
    "page requeue": ("post", "/projects/{p}/review/outdated/", {"scope": "all"}, (302, 302)),
    # The matrix's items are pending: a lead may ask, and is told there is no final label yet.
    "page reopen": ("post", "/projects/{p}/review/{t}/", {"action": "reopen", "comment": "x"}, (409, 409)),
    "page discard": ("post", "/projects/{p}/review/{t}/", {"action": "discard", "comment": "x"}, (302, 302)),
    "api reopen": ("post", "/api/projects/{p}/review/{t}/reopen/", {"comment": "x"}, (409, 409)),
    "api discard": ("post", "/api/projects/{p}/review/{t}/discard/", {"comment": "x"}, (200, 200)),
    "api queue": ("get", "/api/projects/{p}/review/", None, (200, 200)),
    "api item": ("get", "/api/projects/{p}/review/{t}/", None, (200, 200)),
    "api accept": ("post", "/api/projects/{p}/review/{t}/accept/", {"annotation": "{a}"}, (200, 200)),
    "api fix": ("post", "/api/projects/{p}/review/{t}/fix/", {"values": GOOD}, (200, 200)),
    "api reject": (
        "post",
        "/api/projects/{p}/review/{t}/reject/",
        {"annotation": "{a}", "comment": "x"},
        (200, 200),
    ),
    "api bulk accept": ("post", "/api/projects/{p}/review/bulk-accept/", {"limit": 1}, (200, 200)),
    "api outdated": ("get", "/api/projects/{p}/review/outdated/", None, (200, 200)),
    "api requeue": ("post", "/api/projects/{p}/review/requeue/", {}, (200, 200)),
    "api samples": ("get", "/api/projects/{p}/samples/", None, (200, 200)),
}


@pytest.fixture
def world():
    """A project where every role has its own pending item, so each can act without a conflict."""
    project = ProjectFactory()
    lead = member(project, Role.LEAD)
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0, review_sample_rate=0.0)
    worker = member(project, Role.ANNOTATOR)
    users = {
        "anonymous": None,
        "outsider": member(ProjectFactory(), Role.LEAD),
        "annotator": member(project, Role.ANNOTATOR),
        "lead": lead,
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    make_tasks(project, len(WHO))
    items = {who: label(project, worker) for who in WHO}
    return project, users, items


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_only_leads_and_admins_reach_the_review_pages_and_endpoints(world, endpoint):
    project, users, items = world
    method, template, body, allowed = ENDPOINTS[endpoint]
    got = []
    for who in WHO:
        annotation = items[who]
        path = template.format(p=project.pk, t=annotation.task_id)
        data = {k: (v.format(a=annotation.pk) if isinstance(v, str) else v) for k, v in (body or {}).items()}
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        if method == "get":
            response = client.get(path)
        elif template.startswith("/api/"):
            response = client.post(path, data, content_type="application/json")
        else:
            response = client.post(path, data)
        got.append(response.status_code)
    expected = (*(API_NO if template.startswith("/api/") else PAGE_NO), *allowed)
    assert tuple(got) == expected, f"{endpoint}: {dict(zip(WHO, got, strict=True))}"


def test_annotators_never_change_anything_through_the_review_endpoints(world):
    project, users, items = world
    annotator = client_for(users["annotator"])
    for method, template, body, _ in ENDPOINTS.values():
        if method != "post":
            continue
        annotation = items["annotator"]
        path = template.format(p=project.pk, t=annotation.task_id)
        data = {k: (v.format(a=annotation.pk) if isinstance(v, str) else v) for k, v in (body or {}).items()}
        if path.startswith("/api/"):
            annotator.post(path, data, content_type="application/json")
        else:
            annotator.post(path, data)
    assert not Sample.objects.exists() and not ReviewAction.objects.exists()


def test_a_lead_reopens_and_discards_final_labels_through_the_api(world):
    project, users, items = world
    lead = client_for(users["lead"])
    base = f"/api/projects/{project.pk}/review"
    first, second = items["lead"], items["admin"]
    for annotation in (first, second):
        lead.post(
            f"{base}/{annotation.task_id}/accept/",
            {"annotation": annotation.pk},
            content_type="application/json",
        )
    reopened = lead.post(
        f"{base}/{first.task_id}/reopen/", {"comment": "recheck"}, content_type="application/json"
    )
    assert reopened.status_code == 200 and reopened.json()["review"] == "pending"
    assert (
        lead.post(f"{base}/{second.task_id}/discard/", {}, content_type="application/json").status_code == 400
    )
    discarded = lead.post(
        f"{base}/{second.task_id}/discard/", {"comment": "PII"}, content_type="application/json"
    )
    assert discarded.status_code == 200 and discarded.json()["review_note"] == "discarded: PII"
    page = lead.get(f"/projects/{project.pk}/review/{second.task_id}/").content.decode()
    assert "discard" in page and "PII" in page
