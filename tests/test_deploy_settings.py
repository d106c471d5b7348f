"""Production settings (DEBUG off), checked in a fresh interpreter as the service starts them.

The test process runs with test settings (plain-HTTP cookies for the live server), so each check
here starts ``manage.py`` or a small script in a subprocess with the environment of a deployment:
a long random SECRET_KEY, ALLOWED_HOSTS set, nothing else.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import manage

ROOT = Path(__file__).resolve().parents[1]
# Variables the test run sets that a deployment would not (tests/testenv.py, tests/conftest.py, the shell).
TEST_ONLY = {
    "SECRET_KEY",
    "DEBUG",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}
HOST = "flywheel.example.com"

# In the subprocess: a user signs in over HTTPS through the real middleware stack and URLs.
PROBE = """
import json, django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("ops", password="a-long-password-1")
client = Client(HTTP_HOST="{host}")
plain = client.get("/accounts/login/")
login_page = client.get("/accounts/login/", secure=True)
signed_in = client.post(
    "/accounts/login/", {{"username": "ops", "password": "a-long-password-1"}}, secure=True
)
home = client.get("/", secure=True)
def cookie(response, name):
    c = response.cookies.get(name)
    return None if c is None else {{"secure": bool(c["secure"]), "httponly": bool(c["httponly"]),
                                   "samesite": c["samesite"]}}
print(json.dumps({{
    "plain": [plain.status_code, plain.get("Location")],
    "signed_in": signed_in.status_code,
    "session": cookie(signed_in, "sessionid"),
    "csrf": cookie(login_page, "csrftoken") or cookie(signed_in, "csrftoken"),
    "home": home.status_code,
    "headers": {{k: home.get(k) for k in ("Strict-Transport-Security", "X-Frame-Options",
        "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")}},
}}))
"""


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY and k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="flywheel.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        FLYWHEEL_DATA_DIR=str(tmp_path / "data"),
    )
    env.update(extra)
    return env


def test_check_deploy_is_clean_with_debug_off(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_check_deploy_fails_on_a_weak_secret_key(tmp_path):
    """The check above can fail: a short key is what it looks for."""
    env = production_env(tmp_path, SECRET_KEY="short")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W009" in result.stderr


@pytest.mark.parametrize("start", [["manage.py", "check"], ["-c", "import flywheel.wsgi"]])
def test_without_a_secret_key_the_service_refuses_to_start_and_names_the_variable(tmp_path, start):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, *start], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set. Set the SECRET_KEY environment variable" in result.stderr


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> dict:
    tmp_path = tmp_path_factory.mktemp("deploy")
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(host=HOST)],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_plain_http_is_redirected_to_https(probe):
    status, location = probe["plain"]
    assert status == 301 and location == f"https://{HOST}/accounts/login/"


@pytest.mark.slow
def test_the_session_cookie_is_secure_and_http_only(probe):
    assert probe["signed_in"] == 302
    assert probe["session"] == {"secure": True, "httponly": True, "samesite": "Lax"}


@pytest.mark.slow
def test_the_csrf_cookie_is_secure(probe):
    # Not HttpOnly by design: the labeling page's script reads it for fetch() (settings.py says so).
    assert probe["csrf"]["secure"] is True and probe["csrf"]["samesite"] == "Lax"


@pytest.mark.slow
def test_a_response_carries_hsts_and_the_other_security_headers(probe):
    assert probe["home"] == 200
    assert probe["headers"] == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
