"""A person logs in and reads a scrubbed trace, in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotate.models import Role
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
XSS = '<script>window.__pwned = true</script><img src=x onerror="window.__pwned = true">'


@pytest.fixture
def annotator_and_trace():
    project = ProjectFactory(name="acme")
    trace = TraceFactory(
        source=SourceFactory(project=project),
        name="support-chat",
        conversation=[
            {"role": "system", "content": "You are a support assistant."},
            {"role": "user", "content": f"Hi, I'm <PERSON_1>. {XSS}"},
            {
                "role": "assistant",
                "content": "Your order <ORDER> is on its way.",
                "tool_calls": [{"id": "c1", "name": "track_order", "arguments": '{"id": "A1"}'}],
            },
        ],
        tags=["support"],
    )
    user = member(project, Role.ANNOTATOR, username="ann")
    return project, trace, user


def test_a_wrong_password_is_refused_with_a_message(page, live_server, annotator_and_trace):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ann")
    page.fill("#id_password", "wrong")
    page.keyboard.press("Enter")
    expect(page.locator(".errorlist")).to_contain_text("enter a correct username and password")
    assert "/accounts/login/" in page.url


def test_an_annotator_logs_in_and_reads_the_scrubbed_conversation(page, live_server, annotator_and_trace):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # every page needs a login
    page.fill("#id_username", "ann")
    page.fill("#id_password", "pw-for-tests-1")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="acme").click()
    page.get_by_role("link", name="support-chat").click()
    bubbles = page.locator(".chat .msg")
    expect(bubbles).to_have_count(3)
    assert "<PERSON_1>" in bubbles.nth(1).inner_text()
    assert "track_order" in bubbles.nth(2).inner_text()
    # Trace content is text, never markup: the payload shows literally and nothing ran.
    assert "<script>" in bubbles.nth(1).inner_text()
    assert page.evaluate("window.__pwned === undefined")
