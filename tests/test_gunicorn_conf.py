"""The web server's settings (gunicorn.conf.py) and the preloaded application they serve."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fixtures.wait_for import wait_for

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "gunicorn.conf.py"


def test_sync_workers_two_per_core_plus_one_preloaded_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = runpy.run_path(str(CONF))
    assert conf["worker_class"] == "sync" and conf["preload_app"] is True
    assert conf["workers"] == 2 * (os.cpu_count() or 1) + 1
    assert conf["bind"] == "0.0.0.0:8000"
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert runpy.run_path(str(CONF))["workers"] == 7


def test_importing_the_application_loads_every_view_before_a_worker_forks():
    probe = (
        "import sys, flywheel.wsgi\n"
        "print(all(m in sys.modules for m in ('annotate.views_agreement', 'flywheel.api.views_clusters',"
        " 'annotate.api.views', 'statsmodels.stats.inter_rater')))\n"
        "print(any(m in sys.modules for m in"
        " ('torch', 'presidio_analyzer', 'spacy', 'sentence_transformers')))"
    )
    env = {**os.environ, "SECRET_KEY": "t" * 50, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    views_loaded, heavy_loaded = done.stdout.split()
    assert views_loaded == "True"
    assert heavy_loaded == "False"  # web workers never carry Presidio, MiniLM or torch


@pytest.mark.slow
def test_gunicorn_with_the_repository_settings_serves_the_pages_and_the_api(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SECRET_KEY": "t" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FLYWHEEL_DATA_DIR": str(tmp_path),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    command = [sys.executable, "-m", "gunicorn", "flywheel.wsgi:application"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz", timeout=60), "gunicorn did not answer in 60 s"
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        login = httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
        assert login.status_code == 200 and "csrfmiddlewaretoken" in login.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/projects/", timeout=10).status_code in (401, 403)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
