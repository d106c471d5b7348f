"""HTML and JavaScript in trace content, names and notes are shown as text: no script runs, in Chromium.

The payloads are the usual ones: a ``<script>``, an ``<img onerror>``, a ``javascript:`` link and
a ``</textarea>`` breakout (the labeling screen prefills a textarea with the model's answer), put
in every field a page shows that a user or an upstream system controls: the trace's user message,
model answer, metadata, tags and name; a cluster's custom name; an annotator's notes and
corrected answer; an annotator's username (agreement charts are server-side SVG); a release's
warnings. Each page is opened, and ``window.__pwned`` must stay undefined.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from annotate.models import LabelingPolicy, Role, Task
from annotate.services import queue
from annotate.services.sops import sop_bootstrap
from flywheel.models import Cluster, Failure, Observation, Release
from tests.annotate.conftest import GOOD
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD = (
    "</textarea></pre></title>" + SCRIPT + '<img src=x onerror="window.__pwned=1">'
    '<a href="javascript:window.__pwned=1">click</a><svg onload="window.__pwned=1"></svg>'
)
LINK = "javascript:window.__pwned=1"
PASSWORD = "pw-for-tests-1"


def hostile_trace(source, n: int):
    trace = TraceFactory(
        source=source,
        name=PAYLOAD,
        tags=[PAYLOAD, "support"],
        metadata={"note": PAYLOAD, "homepage": LINK},
        input={"messages": [{"role": "user", "content": PAYLOAD}]},
        output=PAYLOAD,
        conversation=[
            {"role": "system", "content": f"System {n}: {PAYLOAD}"},
            {"role": "user", "content": f"Question {n}: {PAYLOAD}"},
            {"role": "assistant", "content": PAYLOAD},
        ],
    )
    Observation.objects.create(trace=trace, external_id=f"gen-{n}", type="GENERATION", name=PAYLOAD)
    return trace


@pytest.fixture
def site():
    project = ProjectFactory(name="acme")
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0, review_sample_rate=1.0)
    ann = member(project, Role.ANNOTATOR, username="ann")
    hostile = member(project, Role.ANNOTATOR, username=PAYLOAD[:150])  # a username in the SVG charts
    other = member(project, Role.ANNOTATOR, username="ann3")
    source = SourceFactory(project=project)
    cluster = Cluster.objects.create(
        project=project, number=5, name="orders", custom_name=PAYLOAD, keywords=[PAYLOAD], occurrences=4
    )
    tasks = []
    for n, required in enumerate((2, 2, 1, 1)):
        trace = hostile_trace(source, n)
        failure = Failure.objects.create(project=project, trace=trace, rules=[PAYLOAD], cluster=cluster)
        tasks.append(
            Task.objects.create(
                project=project,
                trace=trace,
                failure=failure,
                cluster=cluster,
                model_answer=PAYLOAD,
                required_annotations=required,
                priority=float(10 - n),
            )
        )
    hostile_values = {**GOOD, "notes": PAYLOAD, "corrected_output": PAYLOAD}
    for user, values in ((hostile, hostile_values), (other, {**GOOD, "verdict": "good"})):
        for _ in range(2):  # the two double-annotated tasks: a disagreement each, for the charts
            lease = queue.next_task(project=project, user=user)
            queue.submit(assignment_id=lease.pk, user=user, values=values, seconds_spent=4)
    lease = queue.next_task(project=project, user=hostile)  # the third: one label, pending
    queue.submit(assignment_id=lease.pk, user=hostile, values=hostile_values, seconds_spent=4)
    held = queue.next_task(project=project, user=ann)  # the fourth: leased to ann, on screen
    Release.objects.create(
        project=project,
        number=1,
        release_id="acme-v1",
        path="/nonexistent",
        manifest_sha256="0" * 64,
        warnings=[PAYLOAD],
        query={"clusters": [PAYLOAD]},
        created_by=get_user_model().objects.get(pk=hostile.pk),
    )
    return {
        "project": project,
        "trace": tasks[0].trace,
        "review": tasks[0],
        "pending": tasks[2],
        "cluster": cluster,
        "lease": held,
    }


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")


def assert_inert(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # an onerror fires after the broken image request fails
    assert page.evaluate("typeof window.__pwned") == "undefined", url
    assert page.locator('a[href^="javascript:" i]').count() == 0, url
    assert page.locator("img[onerror], svg[onload]").count() == 0, url
    assert SCRIPT in page.inner_text("body"), f"{url}: the payload is not shown as text"


def test_no_page_runs_a_script_from_trace_content_names_or_notes(browser, live_server, site):
    project = site["project"]
    base = f"{live_server.url}/projects/{project.pk}"
    lead = browser.new_context().new_page()
    sign_in(lead, live_server, "lead")
    for path in (
        f"/traces/{site['trace'].pk}/",
        "/traces/",
        f"/review/{site['review'].pk}/",
        f"/review/{site['pending'].pk}/",
        "/review/",
        f"/clusters/{site['cluster'].number}/",
        "/clusters/",
        "/agreement/?field=verdict",
        "/agreement/?field=sample_type",
        "/releases/",
    ):
        assert_inert(lead, base + path)

    annotator = browser.new_context().new_page()
    sign_in(annotator, live_server, "ann")
    assert_inert(annotator, f"{base}/label/{site['lease'].pk}/")
    # The breakout did not close the editor: the model's answer is the textarea's whole value.
    editor = annotator.locator("textarea[name=f_corrected_output]")
    assert editor.input_value() == PAYLOAD
