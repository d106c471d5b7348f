"""Who sees what: the role x endpoint x project matrix for the pipeline's pages and API."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Role
from annotate.services.sops import sop_bootstrap
from flywheel.models import Cluster, Failure
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
    "api rules": "/api/projects/{p}/rules/",
    "api clusters": "/api/projects/{p}/clusters/",
    "api cluster": "/api/projects/{p}/clusters/{c}/",
    "api cluster members": "/api/projects/{p}/clusters/{c}/members/",
    "page clusters": "/projects/{p}/clusters/",
    "page cluster": "/projects/{p}/clusters/{c}/",
    "page unclustered": "/projects/{p}/clusters/unclustered/",
    "api sops": "/api/projects/{p}/sops/",
    "api sop": "/api/projects/{p}/sops/1/",
    "api tasks": "/api/projects/{p}/tasks/",
    "page label": "/projects/{p}/label/",
    "page sop": "/projects/{p}/sop/",
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
    "api rules": (403, 404, 200, 200, 200),
    "api clusters": (403, 404, 200, 200, 200),
    "api cluster": (403, 404, 200, 200, 200),
    "api cluster members": (403, 404, 200, 200, 200),
    "page clusters": (302, 404, 404, 200, 200),
    "page cluster": (302, 404, 404, 200, 200),
    "page unclustered": (302, 404, 404, 200, 200),
    "api sops": (403, 404, 200, 200, 200),
    "api sop": (403, 404, 200, 200, 200),
    "api tasks": (403, 404, 403, 200, 200),
    "page label": (302, 404, 200, 200, 200),
    "page sop": (302, 404, 200, 200, 200),
    "api schema": (403, 200, 200, 200, 200),
    "admin sources": (302, 302, 302, 302, 200),
}
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")


@pytest.fixture
def world():
    project = ProjectFactory()
    trace = TraceFactory(source=SourceFactory(project=project))
    cluster = Cluster.objects.create(project=project, number=7, name="refund · broken")
    Failure.objects.create(project=project, trace=trace, rules=["thumbs-down"], cluster=cluster)
    sop_bootstrap(project=project, user=None)
    other = ProjectFactory()
    users = {
        "anonymous": None,
        "outsider": member(other, Role.ANNOTATOR),
        "annotator": member(project, Role.ANNOTATOR),
        "lead": member(project, Role.LEAD),
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    return project, trace, users, cluster


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_role_gets_exactly_the_access_the_matrix_says(world, endpoint):
    project, trace, users, cluster = world
    path = ENDPOINTS[endpoint].format(p=project.pk, t=trace.pk, c=cluster.number)
    got = []
    for who in WHO:
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        got.append(client.get(path).status_code)
    assert tuple(got) == MATRIX[endpoint], f"{endpoint}: {dict(zip(WHO, got, strict=True))}"


def test_a_token_authenticates_api_calls_but_an_anonymous_call_is_refused(world):
    from rest_framework.authtoken.models import Token

    project, _, users, _ = world
    token = Token.objects.create(user=users["annotator"])
    assert Client().get(f"/api/projects/{project.pk}/traces/").status_code == 403
    response = Client().get(f"/api/projects/{project.pk}/traces/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_the_project_list_shows_only_the_users_own_projects(world):
    project, _, users, _ = world
    client = Client()
    client.force_login(users["annotator"])
    names = [p["name"] for p in client.get("/api/projects/").json()["results"]]
    assert names == [project.name]


def test_the_health_endpoint_answers_without_a_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("lead", 201), ("admin", 201)])
def test_only_leads_and_admins_may_create_a_failure_rule(world, who, status):
    project, _, users, _ = world
    client = Client()
    client.force_login(users[who])
    body = {"name": "escalated", "definition": {"tag": "escalated"}}
    response = client.post(f"/api/projects/{project.pk}/rules/", body, content_type="application/json")
    assert response.status_code == status


def test_an_invalid_rule_is_refused_with_the_engines_message(world):
    project, _, users, _ = world
    client = Client()
    client.force_login(users["lead"])
    body = {"name": "slow", "definition": {"latency_ms": {"op": "=>", "value": 5}}}
    response = client.post(f"/api/projects/{project.pk}/rules/", body, content_type="application/json")
    assert response.status_code == 400
    assert "rule 'slow'" in " ".join(response.json()["definition"])


def test_a_lead_renames_a_cluster_and_annotators_cannot(world):
    project, _, users, cluster = world
    path = f"/api/projects/{project.pk}/clusters/{cluster.number}/"
    lead, annotator = Client(), Client()
    lead.force_login(users["lead"])
    annotator.force_login(users["annotator"])
    body = {"custom_name": "Refunds refused"}
    assert annotator.patch(path, body, content_type="application/json").status_code == 403
    response = lead.patch(path, body, content_type="application/json")
    assert response.status_code == 200 and response.json()["display_name"] == "Refunds refused"


# POST actions: (path, body) -> expected status per role (anonymous, outsider, annotator, lead, admin)
ACTIONS = {
    "next task": ("/api/projects/{p}/next-task/", {}, (403, 404, 204, 204, 204)),
    "create tasks": ("/api/projects/{p}/tasks/", {"all_new": True}, (403, 404, 403, 201, 201)),
    "save sop draft": (
        "/api/projects/{p}/sops/",
        {"body": "# x", "label_schema": {"fields": [{"name": "v", "type": "choice", "choices": ["a"]}]}},
        (403, 404, 403, 201, 201),
    ),
    "publish sop": ("/api/projects/{p}/sops/1/publish/", {}, (403, 404, 403, 409, 409)),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_role_may_take_exactly_the_actions_the_matrix_says(world, action):
    project, _, users, _ = world
    path, body, expected = ACTIONS[action]
    got = []
    for who in WHO:
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        got.append(client.post(path.format(p=project.pk), body, content_type="application/json").status_code)
    assert tuple(got) == expected, f"{action}: {dict(zip(WHO, got, strict=True))}"


def test_the_openapi_schema_generates_without_a_warning(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/projects/{project_id}/next-task/" in (tmp_path / "schema.yml").read_text()
