"""An annotator labels three tasks with the keyboard only, in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, LabelingPolicy, Role
from annotate.services.sops import sop_bootstrap
from tests.annotate.conftest import make_tasks
from tests.factories import ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project():
    project = ProjectFactory(name="acme")
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    member(project, Role.ANNOTATOR, username="ann")
    make_tasks(project, 2)
    make_tasks(project, 1, answer='{"order_id": "A1", "items": [')  # a JSON task with broken output
    return project


def wait_for_item(page) -> None:
    page.wait_for_url("**/label/*/")
    page.wait_for_selector("form[data-ready]")


def test_an_annotator_labels_three_tasks_from_the_keyboard_and_invalid_json_is_blocked(
    page, live_server, project
):
    page.goto(f"{live_server.url}/projects/{project.pk}/label/")
    page.fill("#id_username", "ann")
    page.fill("#id_password", "pw-for-tests-1")
    page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start labeling")
    expect(start).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(2):  # two text tasks: verdict bad (2), then sample type negative (2) via J navigation
        wait_for_item(page)
        page.keyboard.press("2")  # verdict: bad; moves on to the next field
        for _ in range(3):
            page.keyboard.press("j")  # error types -> corrected output -> must refuse -> sample type
        page.keyboard.press("2")  # sample type: negative
        page.keyboard.press("Control+Enter")
    wait_for_item(page)
    page.keyboard.press("2")
    for _ in range(3):
        page.keyboard.press("j")
    page.keyboard.press("2")
    editor = page.locator("textarea[name=f_corrected_output]")
    expect(editor.locator("xpath=ancestor::fieldset//div[contains(@class,'field-errors')]")).to_contain_text(
        "not valid JSON"
    )
    page.keyboard.press("Control+Enter")  # blocked: still on the same item
    expect(page.locator("#submit-button")).to_be_disabled()
    page.keyboard.press("e")
    page.keyboard.press("Control+a")
    page.keyboard.type('{"order_id": "A1", "items": []}')
    expect(page.locator("#submit-button")).to_be_enabled()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/label/")
    expect(page.locator(".notice")).to_contain_text("queue is empty")

    annotations = list(Annotation.objects.order_by("id"))
    assert len(annotations) == 3
    assert all(a.values["verdict"] == "bad" and a.values["sample_type"] == "negative" for a in annotations)
    assert annotations[2].values["corrected_output"] == '{"order_id": "A1", "items": []}'
    assert all(a.lineage["annotator"] == "ann" and a.lineage["sop_version"] == 1 for a in annotations)
    assert all(a.lineage["source_id"] and a.seconds_spent > 0 for a in annotations)
