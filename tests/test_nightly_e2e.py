"""The nightly flywheel end to end against the Langfuse stand-in, with the real parts:
Presidio at the door, MiniLM + HDBSCAN, the labeling API, the export, a tiny model trained by
``python -m training`` in a subprocess, and scores written back through the SDK.

traces in → nightly → tasks → annotations through the API → nightly → release → training run
registered → scores in the stand-in exactly once after running nightly again.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.test import Client

from annotate.models import LabelingPolicy, Role, Sample, Task
from annotate.services.review import review_discard
from annotate.services.sops import sop_bootstrap
from fixtures.demo_labels import demo_label, demo_review
from fixtures.demo_traces import generate
from flywheel.models import FlywheelPolicy, NightlyRun, Release, ScoreWrite, Trace, TrainingRun
from flywheel.rules import load_rules
from flywheel.services.nightly import nightly_run
from flywheel.services.rules import rules_replace
from flywheel.standin import LangfuseStandin
from tests.factories import ProjectFactory, member, standin_source

pytestmark = [pytest.mark.slow, pytest.mark.also_postgres, pytest.mark.django_db]

SECRET_ENV = "TEST_NIGHTLY_LANGFUSE_SECRET"
DAY = datetime(2026, 11, 20, tzinfo=UTC)
RULES = """
rules:
  - name: thumbs-down
    score: {name: user-feedback, op: "<", value: 1}
  - name: errored
    level: ERROR
  - name: broken-json
    all:
      - input_regex: "(?i)please order"
      - output_not_json: true
  - name: privacy-leak
    output_regex: "(?i)lives at"
"""


@pytest.fixture
def standin():
    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundles(generate(70, start=DAY, spacing=600))
        yield lf


@pytest.fixture
def world(standin, settings, tmp_path, monkeypatch):
    from training.tiny import build_tiny_model

    settings.DATA_DIR = tmp_path
    monkeypatch.setenv(SECRET_ENV, standin.secret_key)
    project = ProjectFactory(
        name="acme",
        pii_allow_list=["Acme", "Acme's", "JSON"],
        cluster_params={"min_cluster_size": 3, "min_samples": 2},
    )
    standin_source(
        standin,
        SECRET_ENV,
        project=project,
        name="acme-lf",
        initial_since=datetime(2026, 11, 19, tzinfo=UTC),
        window_hours=48,
    )
    rules_replace(project=project, ruleset=load_rules(RULES))
    lead = member(project, Role.LEAD, username="lead")
    annotators = [member(project, Role.ANNOTATOR, username=f"ann{i}") for i in (1, 2)]
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, overlap_share=1.0, overlap_annotators=2, gold_rate=0.0)
    model = build_tiny_model(tmp_path / "tiny-model")
    FlywheelPolicy.objects.create(
        project=project,
        min_release_samples=8,
        min_new_labels=8,
        agreement_field="sample_type",
        min_alpha=0.5,
        min_overlap_items=10,
        tasks_per_new_cluster=60,
        training_mode=FlywheelPolicy.TrainingMode.IN_PROCESS,
        training_config="training/configs/tiny-cpu.yaml",
        training_overrides={"base_model": str(model)},
        training_timeout_minutes=15,
    )
    return project, lead, annotators


def label_through_the_api(project, annotators, *, disagree: bool = False) -> int:
    """Each annotator takes tasks with next-task and submits the SOP's label until the queue is empty."""
    rng = random.Random(3)
    clients = []
    for user in annotators:
        client = Client()
        client.force_login(user)
        clients.append(client)
    submitted, open_clients = 0, list(enumerate(clients))
    while open_clients:
        still = []
        for index, client in open_clients:
            lease = client.post(f"/api/projects/{project.pk}/next-task/")
            if lease.status_code == 204:
                continue
            assert lease.status_code == 200, lease.content
            task = Task.objects.select_related("failure", "trace").get(pk=lease.json()["task"])
            values = demo_label(task, annotator=0, rng=rng)
            if disagree and index == 1:
                values["sample_type"] = {"negative": "golden", "boundary": "generic"}.get(
                    values["sample_type"], "negative"
                )
            response = client.post(
                f"/api/assignments/{lease.json()['assignment']}/submit/",
                {"values": values, "seconds_spent": 20},
                content_type="application/json",
            )
            assert response.status_code == 201, response.content
            submitted += 1
            still.append((index, client))
        open_clients = still
    return submitted


def run(project):
    result = nightly_run(project=project, fresh=True)
    return result, {name: entry["status"] for name, entry in result.run.steps.items()}


def test_traces_become_a_release_a_trained_model_and_scores_written_exactly_once(world, standin):
    project, lead, annotators = world

    first, steps = run(project)
    assert steps == {
        "sync": "succeeded",
        "cluster": "succeeded",
        "tasks": "succeeded",
        "release": "skipped",
        "train": "skipped",
        "writeback": "succeeded",
    }, first.run.summary_text
    assert Trace.objects.filter(project=project).count() == 70
    assert Task.objects.filter(project=project).exists()
    assert "new final labels" in first.run.steps["release"]["message"]

    assert label_through_the_api(project, annotators) >= 16
    assert Sample.objects.filter(project=project, status="final").count() >= 8  # consensus

    second, steps = run(project)
    if steps["release"] == "failed":
        # The PII gate caught a name the scrubber missed at ingest: those items went back to the
        # review queue first; the lead discards them and the next run publishes without them.
        flagged = Task.objects.filter(project=project, review="pending", review_note__contains="PII gate")
        assert flagged.exists(), second.run.steps["release"]["error"]
        for task in flagged:
            review_discard(project=project, task_id=task.pk, reviewer=lead, comment="a name in the answer")
        second, steps = run(project)
    assert steps["release"] == "succeeded", second.run.summary_text
    assert steps["train"] == "succeeded", second.run.summary_text
    release = Release.objects.get(project=project)
    training = TrainingRun.objects.get(project=project)
    assert training.release == release and training.status == "succeeded"
    assert training.metrics["adapter"]["eval_loss"] is not None
    assert "promoted" in second.run.steps["train"]["message"]

    third, steps = run(project)
    assert third.exit_code == 0
    assert steps["release"] == "skipped" and steps["train"] == "skipped"
    assert third.run.steps["writeback"]["counts"]["sent"] == 0
    held = [
        s for trace in Trace.objects.filter(project=project) for s in standin.scores_on(trace.external_id)
    ]
    ids = Counter(s.id for s in held)
    assert ids and max(ids.values()) == 1
    ours = [s for s in held if s.name.startswith("flywheel.") or s.name == "output"]
    assert len(ours) == ScoreWrite.objects.filter(project=project).count()
    names = Counter(s.name for s in ours)
    assert names["flywheel.verdict"] == Sample.objects.filter(project=project, status="final").count()


def test_a_langfuse_outage_during_sync_is_reported_and_the_next_run_loses_nothing(world, standin):
    project, _, _ = world
    standin.faults.push("/api/public/", "server_error", count=100_000)
    result = nightly_run(project=project)
    steps = result.run.steps
    assert result.exit_code == 69
    assert steps["sync"]["status"] == "failed" and "acme-lf" in steps["sync"]["error"]
    assert steps["cluster"]["status"] == "succeeded"  # the rest ran on what is stored
    assert result.reason.startswith(f"nightly run #{result.run.pk} of 'acme' failed at sync")
    standin.faults.clear()
    again = nightly_run(project=project)
    assert again.run.pk == result.run.pk and again.exit_code == 0  # resumed at the sync step
    assert Trace.objects.filter(project=project).count() == 70
    assert NightlyRun.objects.count() == 1


def test_the_agreement_gate_keeps_a_release_back_and_says_why(world):
    project, lead, annotators = world
    run(project)
    label_through_the_api(project, annotators, disagree=True)
    demo_review(project=project, lead=lead)  # the lead settles every disagreement: labels are final
    assert Sample.objects.filter(project=project, status="final").count() >= 8
    result, steps = run(project)
    assert steps["release"] == "skipped"
    assert "agreement gate failed" in result.run.steps["release"]["message"]
    assert not Release.objects.exists()
