"""A lead grows the reviewed set in headless Chromium: run a recipe, review a sample, accept the rest."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from annotate.models import Sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RECIPE = "name: browser-run\nseed: 2\nvariants:\n  - {transform: entity_substitution, count: 2}\n  - tone\n"


def test_a_lead_runs_a_recipe_reviews_five_variants_and_accepts_the_rest(
    page, live_server, world, fast_stack
):
    project, _, _ = world
    page.goto(f"{live_server.url}/projects/{project.pk}/augment/")
    page.fill("#id_username", "shop-lead")
    page.fill("#id_password", "pw-for-tests-1")
    page.keyboard.press("Enter")
    expect(page.locator("#recipe")).to_contain_text("demo-clone-generalisation")
    page.fill("#recipe", RECIPE)
    page.get_by_role("button", name="Run recipe").click()
    page.wait_for_url("**/augment/runs/*/")
    expect(page.locator(".notice.success")).to_contain_text("recipe browser-run, round 1) succeeded")
    pairs = page.locator("article.pair")
    expect(pairs).to_have_count(10)
    expect(pairs.first.locator("del").first).to_be_visible()  # the words the variant changed
    if os.environ.get("AUGMENT_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["AUGMENT_SCREENSHOTS"], "run.png"), full_page=True)
    for _ in range(5):
        page.locator("article.pair").first.get_by_role("button", name="Accept").click()
        page.wait_for_load_state()
        expect(page.locator(".notice.success")).to_contain_text("Accepted")
    total = Sample.objects.filter(project=project, origin="variant").count()
    waiting = total - 5
    bulk = page.locator("#bulk-form")
    bulk.get_by_role("checkbox").check()
    bulk.get_by_role("button", name=f"Accept the {waiting} remaining").click()
    expect(page.locator(".notice.success")).to_contain_text(f"Accepted the {waiting} remaining row(s)")
    expect(page.locator("#nothing-waiting")).to_be_visible()
    decisions = Sample.objects.filter(project=project, origin="variant").values_list("decision", flat=True)
    assert set(decisions) == {"accepted", "bulk"}
