"""The leads' pages and the API: launch a small recipe, review a sample beside its seed, accept the rest."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.html import escape

from annotate.augment import parse_recipe
from annotate.models import AugmentRun, Sample
from annotate.services.augment import augment_run, proposed_preview

pytestmark = pytest.mark.django_db
SMALL = "name: page-run\nseed: 1\nvariants:\n  - {transform: entity_substitution, count: 2}\n  - tone\n"


@pytest.fixture
def lead_client(world, fast_stack):
    project, lead, seeds = world
    client = Client()
    client.force_login(lead)
    return client, project, seeds


def test_the_grow_page_offers_the_demo_recipe_and_lists_runs(lead_client):
    client, project, _ = lead_client
    response = client.get(f"/projects/{project.pk}/augment/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "name: demo-clone-generalisation" in page and "No runs yet" in page
    assert f"python manage.py augment --project {project.name}" in page


def test_launching_a_small_recipe_runs_it_and_opens_its_run(lead_client):
    client, project, seeds = lead_client
    response = client.post(f"/projects/{project.pk}/augment/", {"recipe": SMALL, "round": "1"}, follow=True)
    run = AugmentRun.objects.get()
    assert response.redirect_chain[-1][0] == f"/projects/{project.pk}/augment/runs/{run.pk}/"
    assert run.created_by.username == "shop-lead" and run.counts["seeds"] == len(seeds)
    page = response.content.decode()
    assert f"run {run.pk} (recipe page-run, round 1) succeeded" in page
    assert "Review a sample" in page and page.count('class="pair"') == min(10, run.counts["proposed"])
    listing = client.get(f"/projects/{project.pk}/augment/").content.decode()
    assert f"/projects/{project.pk}/augment/runs/{run.pk}/" in listing


def test_a_bad_recipe_comes_back_with_every_problem_and_the_text_kept(lead_client):
    client, project, _ = lead_client
    text = "name: x\nvariants: [nosie, {transform: tone, params: {tones: [angry]}}]"
    response = client.post(f"/projects/{project.pk}/augment/", {"recipe": text, "round": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and not AugmentRun.objects.exists()
    assert "variants[0].transform: &#x27;nosie&#x27; is not a transform" in page
    assert "variants[1].params.tones: &#x27;angry&#x27; is not one of" in page
    assert "name: x\nvariants: [nosie" in page  # the lead's text, to fix in place


def test_a_recipe_over_too_many_seeds_is_sent_to_the_command(lead_client, monkeypatch):
    client, project, _ = lead_client
    monkeypatch.setattr("annotate.views_augment.PAGE_MAX_SEEDS", 2)
    response = client.post(f"/projects/{project.pk}/augment/", {"recipe": SMALL, "round": "1"})
    page = response.content.decode()
    assert "This recipe selects 5 seeds; here at most 2 run at once." in page
    assert "python manage.py augment --project shop --recipe FILE.yaml" in page
    assert not AugmentRun.objects.exists()


def test_a_bad_round_is_refused_plainly(lead_client):
    client, project, _ = lead_client
    response = client.post(f"/projects/{project.pk}/augment/", {"recipe": SMALL, "round": "two"})
    assert "round must be a whole number from 1 to 1000 (got &#x27;two&#x27;)" in response.content.decode()


def test_the_preview_shows_each_variant_beside_its_seed_with_the_changed_words_marked(lead_client):
    client, project, _ = lead_client
    run = augment_run(project=project, recipe=parse_recipe(SMALL))
    shown = [s.pk for s in proposed_preview(project=project, run=run, k=10)]
    swaps = Sample.objects.filter(pk__in=shown, lineage__augment_type="entity_substitution")
    swap = next(s for s in swaps if re.search(r"A\d{6}", s.seed.prompt[-1]["content"]))
    page = client.get(f"/projects/{project.pk}/augment/runs/{run.pk}/").content.decode()
    block = page.split(f'id="row-{swap.pk}"')[1].split("</article>")[0]
    old_id = re.search(r"A\d{6}", swap.seed.prompt[-1]["content"]).group(0)
    seed_text = escape(swap.seed.prompt[-1]["content"].split(old_id)[0])
    assert f'<div class="text">{seed_text}{old_id}' in block  # the seed, escaped as the page shows it
    new_id = re.search(r"A\d{6}", swap.prompt[-1]["content"]).group(0)
    assert f"<del>{old_id}</del><ins>{new_id}</ins>" in block
    assert "Variant · entity_substitution" in block and "swapped" in block


def test_accept_and_discard_from_the_page_update_the_row_and_return_to_the_preview(lead_client):
    client, project, _ = lead_client
    run = augment_run(project=project, recipe=parse_recipe(SMALL))
    first, second = Sample.objects.filter(augment_run=run)[:2]
    url = f"/projects/{project.pk}/augment/samples/{{}}/decide/"
    response = client.post(url.format(first.pk), {"action": "accept", "run": run.pk})
    assert response.url == f"/projects/{project.pk}/augment/runs/{run.pk}/#preview"
    client.post(url.format(second.pk), {"action": "discard", "comment": "odd tone", "run": run.pk})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.decision, second.status) == ("final", "accepted", "discarded")
    again = client.post(url.format(first.pk), {"action": "discard", "run": run.pk}, follow=True)
    assert f"Sample {first.pk} is already final (by shop-lead)" in again.content.decode()


def test_bulk_accept_on_the_page_needs_reviews_a_confirmation_and_an_unchanged_count(lead_client):
    client, project, _ = lead_client
    run = augment_run(project=project, recipe=parse_recipe(SMALL))
    rows = list(Sample.objects.filter(augment_run=run).order_by("pk"))
    bulk = f"/projects/{project.pk}/augment/runs/{run.pk}/bulk-accept/"
    page = client.get(f"/projects/{project.pk}/augment/runs/{run.pk}/").content.decode()
    assert "Accept or discard at least 5 rows above (0 so far)" in page
    refused = client.post(bulk, {"confirm": "on", "expected": str(len(rows))}, follow=True).content.decode()
    assert "Review at least 5 rows of run" in refused
    for row in rows[:5]:
        client.post(f"/projects/{project.pk}/augment/samples/{row.pk}/decide/", {"action": "accept"})
    waiting = len(rows) - 5
    assert "Tick the box" in client.post(bulk, {"expected": str(waiting)}, follow=True).content.decode()
    stale = client.post(bulk, {"confirm": "on", "expected": str(waiting + 1)}, follow=True).content.decode()
    assert "changed since the page was shown" in stale
    done = client.post(bulk, {"confirm": "on", "expected": str(waiting)}, follow=True).content.decode()
    assert f"Accepted the {waiting} remaining row(s) of run {run.pk}." in done
    assert set(Sample.objects.filter(augment_run=run).values_list("status", flat=True)) == {"final"}


def test_the_api_launches_previews_and_decides(lead_client):
    client, project, _ = lead_client
    created = client.post(
        f"/api/projects/{project.pk}/augment/runs/",
        {"recipe": SMALL, "round": 1},
        content_type="application/json",
    )
    assert created.status_code == 201
    run = created.json()
    assert run["status"] == "succeeded" and run["counts"]["seeds"] == 5 and run["created_by"] == "shop-lead"
    preview = client.get(f"/api/projects/{project.pk}/augment/runs/{run['id']}/preview/?k=3").json()
    assert len(preview) == 3 and all(row["seed"]["item_key"] for row in preview)
    accepted = client.post(
        f"/api/projects/{project.pk}/proposed/{preview[0]['id']}/accept/", {"comment": "ok"}
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "final"
    assert accepted.json()["lineage"]["reviewer"] == "shop-lead"
    progress = client.get(f"/api/projects/{project.pk}/augment/runs/{run['id']}/progress/").json()
    assert progress["reviewed"] == 1 and progress["needed"] == 5 and progress["bulk_ready"] is False
    listed = client.get(f"/api/projects/{project.pk}/proposed/?run={run['id']}").json()
    assert listed["count"] == run["counts"]["proposed"] - 1
    bad = client.post(
        f"/api/projects/{project.pk}/augment/runs/",
        {"recipe": "name: x\nvariants: [warp]"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidRecipe"
    assert "variants[0].transform: 'warp' is not a transform" in bad.json()["detail"]
