"""Who reaches the seed-variant pages and API: the role x endpoint matrix (leads and admins only)."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.augment import parse_recipe
from annotate.models import Role, Sample
from annotate.services.augment import augment_run
from tests.factories import ProjectFactory, UserFactory, member

pytestmark = pytest.mark.django_db
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")

# name -> (method, path); {p} project, {r} run, {s} a proposed sample
ENDPOINTS = {
    "page grow": ("get", "/projects/{p}/augment/"),
    "page run": ("get", "/projects/{p}/augment/runs/{r}/"),
    "page launch": ("post", "/projects/{p}/augment/"),
    "page decide": ("post", "/projects/{p}/augment/samples/{s}/decide/"),
    "page bulk accept": ("post", "/projects/{p}/augment/runs/{r}/bulk-accept/"),
    "api runs": ("get", "/api/projects/{p}/augment/runs/"),
    "api launch": ("post", "/api/projects/{p}/augment/runs/"),
    "api run": ("get", "/api/projects/{p}/augment/runs/{r}/"),
    "api progress": ("get", "/api/projects/{p}/augment/runs/{r}/progress/"),
    "api preview": ("get", "/api/projects/{p}/augment/runs/{r}/preview/"),
    "api bulk accept": ("post", "/api/projects/{p}/augment/runs/{r}/bulk-accept/"),
    "api proposed": ("get", "/api/projects/{p}/proposed/"),
    "api accept": ("post", "/api/projects/{p}/proposed/{s}/accept/"),
    "api discard": ("post", "/api/projects/{p}/proposed/{s}/discard/"),
}
#                        anonymous outsider annotator lead admin
MATRIX = {
    "page grow": (302, 404, 404, 200, 200),
    "page run": (302, 404, 404, 200, 200),
    "page launch": (302, 404, 404, 200, 200),  # 200: the form again, with the recipe's errors
    "page decide": (302, 404, 404, 302, 302),
    "page bulk accept": (302, 404, 404, 302, 302),
    "api runs": (403, 404, 403, 200, 200),
    "api launch": (403, 404, 403, 400, 400),  # 400: no recipe in the body
    "api run": (403, 404, 403, 200, 200),
    "api progress": (403, 404, 403, 200, 200),
    "api preview": (403, 404, 403, 200, 200),
    "api bulk accept": (403, 404, 403, 400, 400),  # 400: nothing reviewed one by one yet
    "api proposed": (403, 404, 403, 200, 200),
    "api accept": (403, 404, 403, 200, 409),  # the lead accepts it; the admin comes second
    "api discard": (403, 404, 403, 200, 409),
}


@pytest.fixture
def site(world, fast_stack):
    project, _, _ = world
    run = augment_run(
        project=project, recipe=parse_recipe("name: a\nvariants: [{transform: tone, count: 2}]")
    )
    proposed = list(Sample.objects.filter(augment_run=run))
    users = {
        "anonymous": None,
        "outsider": member(ProjectFactory(), Role.LEAD),
        "annotator": member(project, Role.ANNOTATOR),
        "lead": member(project, Role.LEAD),
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    return project, run, proposed, users


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_role_gets_exactly_the_access_the_matrix_says(site, endpoint):
    project, run, proposed, users = site
    method, template = ENDPOINTS[endpoint]
    sample = proposed[0] if endpoint == "api accept" else proposed[1]
    path = template.format(p=project.pk, r=run.pk, s=sample.pk)
    got = []
    for who in WHO:
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        response = client.get(path) if method == "get" else client.post(path, {})
        got.append(response.status_code)
    assert tuple(got) == MATRIX[endpoint], f"{endpoint}: {dict(zip(WHO, got, strict=True))}"


def test_an_annotator_cannot_decide_a_row_through_either_door(site):
    project, _, proposed, users = site
    client = Client()
    client.force_login(users["annotator"])
    client.post(f"/projects/{project.pk}/augment/samples/{proposed[0].pk}/decide/", {"action": "accept"})
    client.post(f"/api/projects/{project.pk}/proposed/{proposed[0].pk}/accept/", {})
    proposed[0].refresh_from_db()
    assert proposed[0].status == "proposed"


def test_a_lead_of_another_project_cannot_reach_this_projects_rows_through_their_own_project(site):
    _, _, proposed, users = site
    theirs = users["outsider"].memberships.get().project
    client = Client()
    client.force_login(users["outsider"])
    response = client.post(f"/api/projects/{theirs.pk}/proposed/{proposed[0].pk}/accept/", {})
    assert response.status_code == 404
    proposed[0].refresh_from_db()
    assert proposed[0].status == "proposed"
