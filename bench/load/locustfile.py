"""Locust users of the load test: annotators labeling, leads reviewing and reading the dashboard.

    .venv/bin/locust -f bench/load/locustfile.py --host http://127.0.0.1:8800 --headless -u 52 -t 120s

Run by :mod:`bench.load.run`, which builds nothing itself: it expects the database that
``python -m bench.load.build`` made and reads the users and API tokens from ``LOAD_USERS``
(default ``var/load/users.json``). Every annotator user takes its own annotator account (so
locust's user count is at most the number of accounts + the 2 leads).

- Annotator: next-task, think 1-3 s, then submit a label the SOP's schema accepts (one in ten is
  skipped with a reason instead), think 1-3 s. A 204 (queue empty) waits and asks again.
- Lead (2 of them, ``fixed_count``): the review queue, one item, accept it (a fix one time in
  five); once a minute (``LOAD_DASHBOARD_EVERY``) the dashboard page (a session login, as a
  browser) and the agreement API right after it (which reuses the page's result).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, task

USERS = json.loads(Path(os.environ.get("LOAD_USERS", "var/load/users.json")).read_text())
PROJECT = USERS["project"]
ANNOTATORS = itertools.cycle(sorted(USERS["annotators"].items()))
LEADS = itertools.cycle(sorted(USERS["leads"].items()))
LEAD_SLOTS = itertools.count()
JSON_ANSWER = '{"items": [{"name": "coffee beans", "quantity": 2}]}'
TEXT_ANSWER = "Your order left our warehouse yesterday and arrives within two working days."
DASHBOARD_EVERY = float(os.environ.get("LOAD_DASHBOARD_EVERY", "60"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def label_for(lease: dict[str, Any]) -> dict[str, Any]:
    """A label the default SOP's schema accepts for this task (JSON tasks need a JSON answer)."""
    good = random.random() < 0.4 and (lease["output_format"] != "json" or _parses(lease["model_answer"]))
    answer = (
        lease["model_answer"] if good else (JSON_ANSWER if lease["output_format"] == "json" else TEXT_ANSWER)
    )
    return {
        "verdict": "good" if good else "bad",
        "sample_type": "golden" if good else "negative",
        "corrected_output": answer,
        "task_type": random.choice(["qa", "extraction", "chitchat"]),
        "difficulty": random.choice(["easy", "medium", "hard"]),
        "domain": "shipping",
    }


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class Annotator(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.username, token = next(ANNOTATORS)
        self.headers = {"Authorization": f"Token {token}"}

    @task
    def label_one(self) -> None:
        with self.client.post(
            f"/api/projects/{PROJECT}/next-task/", headers=self.headers, name="next-task", catch_response=True
        ) as got:
            if got.status_code == 204:
                got.success()
                return
            if got.status_code != 200:
                got.failure(f"next-task {got.status_code}")
                return
            lease = got.json()
        self.wait()
        assignment = lease["assignment"]
        if random.random() < 0.1:
            self.client.post(
                f"/api/assignments/{assignment}/skip/",
                json={"reason": "not enough context"},
                headers=self.headers,
                name="skip",
            )
            return
        with self.client.post(
            f"/api/assignments/{assignment}/submit/",
            json={"values": label_for(lease), "seconds_spent": random.uniform(20, 90)},
            headers=self.headers,
            name="submit",
            catch_response=True,
        ) as done:
            if done.status_code != 201:
                done.failure(f"submit {done.status_code}: {(done.text or '')[:200]}")


class Lead(FastHttpUser):
    fixed_count = 2
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.username, token = next(LEADS)
        self.slot = next(LEAD_SLOTS) % 2  # the two leads take tasks of alternate parity: no decision races
        self.headers = {"Authorization": f"Token {token}"}
        self.last_dashboard = time.monotonic() - DASHBOARD_EVERY * (0.25 + 0.5 * self.slot)
        form = self.client.get("/accounts/login/", name="login form")
        match = CSRF.search(form.text or "")
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": USERS["password"],
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
        )
        # The API takes the session cookie first (as the browser's pages do): POSTs carry the CSRF token.
        csrf = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        self.post_headers = {**self.headers, "X-CSRFToken": csrf, "Referer": f"{self.host}/"}

    @task(6)
    def review_one(self) -> None:
        queue = self.client.get(
            f"/api/projects/{PROJECT}/review/?limit=20", headers=self.headers, name="review queue"
        ).json()
        # Each lead decides the tasks of one parity: two leads never decide one task (a race the
        # service answers with 409, rightly, and the load test would count as an error).
        rows = [row for row in queue["results"] if row["task"] % 2 == self.slot]
        if not rows:
            return
        task_id = random.choice(rows)["task"]
        base = f"/api/projects/{PROJECT}/review/{task_id}/"
        item = self.client.get(base, headers=self.headers, name="review item").json()
        self.wait()
        votes = item["annotations"]
        if random.random() < 0.2 or not votes:
            values = {**(votes[0]["values"] if votes else {}), "verdict": "bad", "sample_type": "negative"}
            answer = JSON_ANSWER if item["task"]["output_format"] == "json" else TEXT_ANSWER
            body = {"values": {**values, "corrected_output": answer}, "comment": "load test fix"}
            self.client.post(f"{base}fix/", json=body, headers=self.post_headers, name="review fix")
        else:
            body = {"annotation": votes[0]["id"], "comment": ""}
            self.client.post(f"{base}accept/", json=body, headers=self.post_headers, name="review accept")

    @task(1)
    def dashboard(self) -> None:
        # A lead glances at the dashboard now and then, not between every two items: at most once
        # a DASHBOARD_EVERY seconds. Under active labeling a look computes it cold once the last
        # result is older than the reuse window (AGREEMENT_REUSE_SECONDS, 120 s by default).
        if DASHBOARD_EVERY <= 0 or time.monotonic() - self.last_dashboard < DASHBOARD_EVERY:
            return  # 0: the leads only review
        self.last_dashboard = time.monotonic()
        self.client.get(f"/projects/{PROJECT}/agreement/", name="agreement page")
        self.client.get(f"/api/projects/{PROJECT}/agreement", headers=self.headers, name="agreement API")
