"""A lead reviews from the keyboard in headless Chromium; the annotator then sees the lead's comment."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, LabelingPolicy, Role, Sample, Task
from annotate.services.sops import sop_bootstrap
from tests.annotate.conftest import make_tasks
from tests.annotate.review_helpers import DISAGREE, label
from tests.factories import ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COMMENT = "The SOP says to give the delivery date, not the shipping date."
SHOTS = os.environ.get("REVIEW_SCREENSHOTS", "")  # a folder: save what the lead sees, to look at


@pytest.fixture
def reviewing():
    project = ProjectFactory(name="acme")
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0, review_sample_rate=0.0)
    ann1 = member(project, Role.ANNOTATOR, username="ann1")
    ann2 = member(project, Role.ANNOTATOR, username="ann2")
    (single,) = make_tasks(project, 1)
    (disputed,) = make_tasks(project, 1, required=2)
    Task.objects.filter(pk=single.pk).update(priority=50)  # higher than the disagreement, yet after it
    label(project, ann1)
    label(project, ann1)
    label(project, ann2, DISAGREE)
    return project, disputed, single


def log_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.keyboard.press("Enter")


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_lead_fixes_a_disagreement_and_rejects_an_item_from_the_keyboard(page, live_server, reviewing):
    project, disputed, single = reviewing
    log_in(page, f"{live_server.url}/projects/{project.pk}/review/", "lead")
    next_item = page.locator("#next-item")
    expect(next_item).to_be_focused()
    shot(page, "queue")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/review/{disputed.pk}/")
    page.wait_for_selector("body[data-review-ready]")
    verdict = page.locator('tr[data-field="verdict"]')
    expect(verdict).to_have_class("differs")
    expect(verdict.locator("td.diff")).to_have_count(2)
    expect(page.locator('tr[data-field="must_refuse"] td.diff')).to_have_count(0)
    shot(page, "item")

    page.keyboard.press("2")  # select ann2's column
    page.keyboard.press("f")  # fix, starting from ann2's label
    fix = page.locator("#fix-form")
    expect(fix).to_be_visible()
    expect(fix.locator('input[name="f_verdict"][value="good"]')).to_be_checked()
    page.keyboard.press("2")  # verdict: bad; moves on to error types
    page.keyboard.press("j")  # corrected output
    page.keyboard.press("e")
    page.keyboard.press("Control+a")
    page.keyboard.type("It arrives on Monday.")
    page.keyboard.press("Escape")
    page.keyboard.press("j")  # must refuse
    page.keyboard.press("j")  # sample type
    page.keyboard.press("2")  # negative
    shot(page, "fix")
    page.keyboard.press("Control+Enter")

    page.wait_for_url(f"**/review/{single.pk}/")
    page.wait_for_selector("body[data-review-ready]")
    expect(page.locator(".notice.success")).to_contain_text("your fixed label is final")
    page.keyboard.press("r")
    comment = page.locator('details[data-reject="0"] textarea')
    expect(comment).to_be_focused()
    page.keyboard.type(COMMENT)
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/review/")
    expect(page.locator(".notice.success")).to_contain_text("sent back to ann1")
    expect(page.locator("#queue-empty")).to_be_visible()

    sample = Sample.objects.get(task=disputed)
    assert (sample.decision, sample.reviewer.username) == ("fixed", "lead")
    assert sample.lineage["annotator"] == "ann2"  # the fix started from ann2's label
    assert sample.values["verdict"] == "bad" and sample.values["sample_type"] == "negative"
    assert sample.answer == "It arrives on Monday."
    assert Annotation.objects.get(task=single).status == "rejected"

    page.context.clear_cookies()
    log_in(page, f"{live_server.url}/projects/{project.pk}/label/", "ann1")
    expect(page.locator("#returned")).to_contain_text("1 item returned to you")
    expect(page.locator("#returned")).to_contain_text(COMMENT)
    page.get_by_role("button", name="Start with the returned work").press("Enter")
    page.wait_for_url("**/label/*/")
    expect(page.locator("#rework")).to_contain_text(COMMENT)
    expect(page.locator("#rework")).to_contain_text("Sent back for rework by lead")
    shot(page, "rework")
