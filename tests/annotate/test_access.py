"""Who sees what: the role x endpoint x project matrix for the pipeline's pages and API."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Role
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, UserFactory, member

pytestmark = pytest.mark.django_db

# who -> expected status for (api path, page path) templates; {p} project id, {t} trace id.
ENDPOINTS = {
    "api projects": "/api/projects/",
    "api sources": "/api/projects/{p}/sources/",
    "api traces": "/api/projects/{p}/traces/",
    "api trace": "/api/projects/{p}/traces/{t}/",
    "api sync runs": "/api/projects/{p}/sync-runs/",
    "page traces": "/projects/{p}/traces/",
    "page trace": "/projects/{p}/traces/{t}/",
    "page sync runs": "/projects/{p}/sync-runs/",
    "api schema": "/api/schema/",
    "admin sources": "/admin/flywheel/tracesource/",
}
#                    anonymous, outsider, annotator, lead, admin
MATRIX = {
    "api projects": (403, 200, 200, 200, 200),
    "api sources": (403, 404, 403, 403, 200),
    "api traces": (403, 404, 200, 200, 200),
    "api trace": (403, 404, 200, 200, 200),
    "api sync runs": (403, 404, 403, 200, 200),
    "page traces": (302, 404, 200, 200, 200),
    "page trace": (302, 404, 200, 200, 200),
    "page sync runs": (302, 404, 404, 200, 200),
    "api schema": (403, 200, 200, 200, 200),
    "admin sources": (302, 302, 302, 302, 200),
}
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")


@pytest.fixture
def world():
    project = ProjectFactory()
    trace = TraceFactory(source=SourceFactory(project=project))
    other = ProjectFactory()
    users = {
        "anonymous": None,
        "outsider": member(other, Role.ANNOTATOR),
        "annotator": member(project, Role.ANNOTATOR),
        "lead": member(project, Role.LEAD),
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    return project, trace, users


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_role_gets_exactly_the_access_the_matrix_says(world, endpoint):
    project, trace, users = world
    path = ENDPOINTS[endpoint].format(p=project.pk, t=trace.pk)
    got = []
    for who in WHO:
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        got.append(client.get(path).status_code)
    assert tuple(got) == MATRIX[endpoint], f"{endpoint}: {dict(zip(WHO, got, strict=True))}"


def test_a_token_authenticates_api_calls_but_an_anonymous_call_is_refused(world):
    from rest_framework.authtoken.models import Token

    project, _, users = world
    token = Token.objects.create(user=users["annotator"])
    assert Client().get(f"/api/projects/{project.pk}/traces/").status_code == 403
    response = Client().get(f"/api/projects/{project.pk}/traces/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_the_project_list_shows_only_the_users_own_projects(world):
    project, _, users = world
    client = Client()
    client.force_login(users["annotator"])
    names = [p["name"] for p in client.get("/api/projects/").json()["results"]]
    assert names == [project.name]


def test_the_health_endpoint_answers_without_a_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
