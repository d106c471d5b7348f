"""Secrets never reach a log line, a command's output or the database.

A deployment's secrets (SECRET_KEY, a Langfuse secret key, the paraphrase API key) are put in the
environment of a fresh service process, which then does what touches them, at LOG_LEVEL=DEBUG in
both log formats: a sync against the Langfuse stand-in with a wrong key and with the right one,
a write-back of final labels, a failed and a good sign-in. Everything the process printed and
logged, and a ``manage.py dumpdata`` of its database, must hold none of the values.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from fixtures.demo_traces import generate

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LF_PUBLIC = "pk-lf-secrets-test"
SECRET_ENV = "FLYWHEEL_TEST_LANGFUSE_SECRET"

DRIVER = r"""
import os, sys
import django
django.setup()
from django.core.management import call_command
from django.test import Client

def command(*args):
    try:
        call_command(*args, stdout=sys.stdout, stderr=sys.stderr)
        code = 0
    except SystemExit as exc:
        code = exc.code
    print(f"[exit {code}] {args[0]}", file=sys.stderr, flush=True)
    return code

call_command("migrate", verbosity=0)
assert command("langfuse_source", "add", "--project", "acme", "--name", "lf",
               "--base-url", os.environ["LF_URL"], "--public-key", "PUBLIC",
               "--secret-key-env", "SECRET_ENV", "--create-project") == 0
good = os.environ["SECRET_ENV"]
os.environ["SECRET_ENV"] = os.environ["WRONG_KEY"]
assert command("sync_langfuse", "--source", "lf", "--since", "SINCE", "--until", "UNTIL") == 77
os.environ["SECRET_ENV"] = good
assert command("sync_langfuse", "--source", "lf", "--since", "SINCE", "--until", "UNTIL") == 0

from annotate.models import Role
from annotate.services.sops import sop_bootstrap
from flywheel.models import TraceSource
from tests.factories import member
from tests.flywheel.writeback.conftest import labeled_trace
source = TraceSource.objects.get(name="lf")
sop = sop_bootstrap(project=source.project, user=None)
for n in range(3):
    labeled_trace(source, sop, n=9000 + n)
assert command("write_back", "--project", "acme") == 0

member(source.project, Role.LEAD, username="lead")
client = Client()
attempt = {"username": "lead", "password": os.environ["LOGIN_ATTEMPT"]}
failed = client.post("/accounts/login/", attempt, secure=True)
print(f"[login] failed sign-in answered {failed.status_code}", file=sys.stderr, flush=True)
good_login = client.post("/accounts/login/", {"username": "lead", "password": "pw-for-tests-1"}, secure=True)
print(f"[login] good sign-in answered {good_login.status_code}", file=sys.stderr, flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def values() -> dict[str, str]:
    """Distinctive secrets, each a value that can occur nowhere else by chance."""
    return {
        "SECRET_KEY": "django-" + secrets.token_urlsafe(40),
        "LANGFUSE": "sk-lf-" + secrets.token_hex(16),
        "WRONG_KEY": "sk-lf-wrong-" + secrets.token_hex(12),
        "PARAPHRASE_API_KEY": "sk-para-" + secrets.token_hex(16),
        "LOGIN_ATTEMPT": "attempted-password-" + secrets.token_hex(8),
    }


@pytest.fixture(scope="module")
def standin_url(tmp_path_factory, values):
    data = tmp_path_factory.mktemp("standin") / "traces.jsonl"
    data.write_text("".join(json.dumps(b) + "\n" for b in generate(6, start=START)))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "flywheel.standin", "--port", str(port), "--data", str(data),
         "--public-key", LF_PUBLIC, "--secret-key", values["LANGFUSE"]],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/api/public/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def service_env(tmp_path: Path, values: dict[str, str], log_format: str, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE="flywheel.settings",
        SECRET_KEY=values["SECRET_KEY"],
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        FLYWHEEL_DATA_DIR=str(tmp_path / "data"),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT=log_format,
        PARAPHRASE_BASE_URL="http://127.0.0.1:9/v1",
        PARAPHRASE_MODEL="para-small",
        PARAPHRASE_API_KEY=values["PARAPHRASE_API_KEY"],
        LANGFUSE_MAX_ATTEMPTS="1",
        LF_URL=url,
        WRONG_KEY=values["WRONG_KEY"],
        LOGIN_ATTEMPT=values["LOGIN_ATTEMPT"],
        **{SECRET_ENV: values["LANGFUSE"]},
    )
    return env


def leaked(text: str, values: dict[str, str]) -> list[str]:
    return [name for name, value in values.items() if value in text]


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_secret_reaches_the_logs_the_output_or_the_database(tmp_path, values, standin_url, log_format):
    env = service_env(tmp_path, values, log_format, standin_url)
    script = (
        DRIVER.replace("SECRET_ENV", SECRET_ENV)
        .replace("PUBLIC", LF_PUBLIC)
        .replace("SINCE", START.isoformat())
        .replace("UNTIL", START.replace(hour=12).isoformat())
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    # The run did what it should, at DEBUG, in the format asked for.
    assert "[exit 77] sync_langfuse" in output and "[exit 0] sync_langfuse" in output
    assert "[exit 0] write_back" in output
    assert "failed sign-in answered 200" in output and "good sign-in answered 302" in output
    assert " DEBUG " in output if log_format == "text" else '"level": "DEBUG"' in output
    assert SECRET_ENV in output  # the wrong key's error names the variable, never its value
    assert leaked(output, values) == []

    dump = subprocess.run(
        [sys.executable, "manage.py", "dumpdata", "--indent", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert dump.returncode == 0, dump.stderr[-2000:]
    assert '"model": "flywheel.trace"' in dump.stdout and "flywheel.scorewrite" in dump.stdout
    assert leaked(dump.stdout + dump.stderr, values) == []
