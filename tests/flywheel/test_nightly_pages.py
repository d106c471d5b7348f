"""The nightly runs pages: leads see every run with its steps; nobody else sees them."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Role
from flywheel.nightly import Step, StepError, StepOutcome
from flywheel.services.nightly import nightly_run
from tests.factories import ProjectFactory, UserFactory, member

pytestmark = pytest.mark.django_db

#              anonymous, outsider, annotator, lead, admin
MATRIX = {
    "list": (302, 404, 404, 200, 200),
    "detail": (302, 404, 404, 200, 200),
}


def broken_sync():
    raise StepError("source 'lf' unreachable at http://127.0.0.1:1", exit_code=69)


@pytest.fixture
def world():
    project = ProjectFactory()
    steps = lambda ctx: [  # noqa: E731
        Step("sync", broken_sync),
        Step("cluster", lambda: StepOutcome("12 traces checked", {"traces": 12})),
    ]
    run = nightly_run(project=project, steps=steps).run
    users = {
        "anonymous": None,
        "outsider": member(ProjectFactory(), Role.LEAD),
        "annotator": member(project, Role.ANNOTATOR),
        "lead": member(project, Role.LEAD),
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    return project, run, users


@pytest.mark.parametrize("page", MATRIX)
@pytest.mark.parametrize("who", ["anonymous", "outsider", "annotator", "lead", "admin"])
def test_only_leads_and_admins_see_the_nightly_runs(world, page, who):
    project, run, users = world
    client = Client()
    if users[who]:
        client.force_login(users[who])
    path = f"/projects/{project.pk}/nightly/" + (f"{run.pk}/" if page == "detail" else "")
    expected = MATRIX[page][["anonymous", "outsider", "annotator", "lead", "admin"].index(who)]
    assert client.get(path).status_code == expected


def test_the_run_page_shows_each_step_its_outcome_and_why_the_run_stopped(world):
    project, run, users = world
    client = Client()
    client.force_login(users["lead"])
    listing = client.get(f"/projects/{project.pk}/nightly/").content.decode()
    assert "failed at sync" in listing
    page = client.get(f"/projects/{project.pk}/nightly/{run.pk}/").content.decode()
    assert "Sync traces from Langfuse" in page and "unreachable" in page
    assert "12 traces checked" in page and "traces=12" in page
