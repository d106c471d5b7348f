"""CSRF: every POST form carries the token, every POST page refuses a request without it, and the API
refuses a session-authenticated write without it while token-authenticated clients need none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.hostile_world import FAST_HASHERS, World, build_world, use_fast_fakes
from tests.test_access_matrix import FORMS, MATRIX, patterns, url_for

TEMPLATES = Path(settings.BASE_DIR) / "templates"
FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S | re.I)
POST = re.compile(r"""method\s*=\s*["']?post""", re.I)
# Who may send each POST page's form (the role the matrix gives a 2xx/3xx); the rest are leads'.
SENDER = {"login": "anonymous", "label-next": "annotator", "label-item": "annotator"}
POST_PAGES = sorted(
    key.rsplit(" ", 1)[0] for key in MATRIX if key.endswith(" POST") and not key.startswith("api-")
)


def post_forms() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for match in FORM.finditer(path.read_text(encoding="utf-8")):
            if POST.search(match.group("attrs")):
                found.append((str(path.relative_to(TEMPLATES)), match.group(0)))
    return found


def test_every_post_form_in_every_template_carries_the_csrf_token():
    forms = post_forms()
    assert len(forms) >= 15  # sign-in, sign-out, labeling, SOP, review, augment, tasks...
    missing = [name for name, form in forms if "{% csrf_token %}" not in form]
    assert missing == []


def test_no_template_builds_a_post_form_outside_a_form_tag_the_scan_sees():
    """A form opened in one template and closed in another would escape the scan above."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert len(re.findall(r"<form\b", text, re.I)) == len(re.findall(r"</form>", text, re.I)), path


@pytest.fixture
def world(db, settings, tmp_path, monkeypatch) -> World:
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world(tmp_path, use_fast_fakes(monkeypatch))


def csrf_client(user) -> tuple[Client, str]:
    """A client that enforces CSRF like a browser, signed in as ``user``, and its token."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get("/accounts/login/")  # the sign-in form sets the CSRF cookie
    return client, client.cookies[settings.CSRF_COOKIE_NAME].value


def rolled_back_post(client: Client, path: str, data: dict, **extra) -> int:
    with transaction.atomic():
        status = client.post(path, data, **extra).status_code
        transaction.set_rollback(True)
    return status


@pytest.mark.slow
def test_every_post_page_refuses_a_post_without_the_token_and_takes_it_with_the_token(world):
    routes = dict(patterns())
    assert len(POST_PAGES) >= 12
    results = {}
    for name in POST_PAGES:
        path = url_for(name, routes[name], world)
        data = FORMS[f"{name} POST"](world) if f"{name} POST" in FORMS else {}
        client, token = csrf_client(world.users[SENDER.get(name, "lead")])
        without = rolled_back_post(client, path, data)
        client, token = csrf_client(world.users[SENDER.get(name, "lead")])
        with_token = rolled_back_post(client, path, {**data, "csrfmiddlewaretoken": token})
        results[name] = (without, with_token)
    refused = {name: got for name, got in results.items() if got[0] != 403 or got[1] == 403}
    assert refused == {}, "(without the token, with it): want 403 then anything but 403"


def test_the_api_refuses_a_session_authenticated_write_without_the_csrf_token(world):
    path = f"/api/projects/{world.project.pk}/rules/"
    body = {"name": "escalated", "definition": {"tag": "escalated"}}
    client, token = csrf_client(world.users["lead"])
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    response = client.post(path, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_a_token_authenticated_api_client_needs_no_csrf_token(world):
    token = Token.objects.create(user=world.users["lead"])
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/api/projects/{world.project.pk}/rules/",
        {"name": "escalated", "definition": {"tag": "escalated"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201


def test_a_read_through_the_api_with_a_session_needs_no_token(world):
    client, _ = csrf_client(world.users["lead"])
    assert client.get(f"/api/projects/{world.project.pk}/rules/").status_code == 200
