"""scores_write_back and ``manage.py write_back`` against the Langfuse stand-in, over real HTTP.

There is no real Langfuse here: the real-adapter test is the official SDK talking HTTP to the
stand-in (``flywheel.standin``), which follows the spec (see ``test_client.py``).
"""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command

from annotate.models import Sample, Task
from flywheel.errors import SourceUnreachable
from flywheel.models import Failure, FlywheelPolicy, ScoreWrite, TraceSource
from flywheel.services.writeback import scores_write_back
from flywheel.standin import LangfuseStandin
from flywheel.writeback import ScoreWriter, WritebackConfig
from tests.factories import SourceFactory
from tests.flywheel.standin.openapi_schemas import SPEC_PATH, validate
from tests.flywheel.writeback.conftest import (
    MODEL_ANSWER,
    SECRET_ENV,
    final_sample,
    labeled_trace,
    no_sleep,
    score_posts,
)

pytestmark = pytest.mark.django_db
PER_TRACE = 7  # verdict, sample_type, must_refuse, 2 error types, the correction, the cluster
SMALL = WritebackConfig(batch_size=4, trace_chunk=2)


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.LANGFUSE_MAX_ATTEMPTS = 3
    settings.LANGFUSE_BACKOFF_BASE = 0.01


@pytest.fixture
def traces(source, sop, cluster):
    return [labeled_trace(source, sop, n=n, cluster=cluster) for n in range(5)]


def command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("write_back", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def held(lf: LangfuseStandin) -> Counter[tuple[str | None, str, str | None]]:
    """(trace, name, value) of every score the stand-in holds, with how often it occurs."""
    return Counter((s.trace_id, s.name, s.string_value) for s in lf.written_scores)


def posts(lf: LangfuseStandin) -> int:
    return sum(1 for r in lf.requests if r.method == "POST" and r.path == "/api/public/scores")


# -- idempotence ------------------------------------------------------------------------
def test_two_runs_leave_every_score_in_langfuse_exactly_once(standin, traces):
    first = scores_write_back(project=traces[0].project, config=SMALL)
    second = scores_write_back(project=traces[0].project, config=SMALL)
    assert (first.considered, first.sent, first.failed) == (5, 5 * PER_TRACE, 0)
    counts = held(standin)
    assert len(counts) == 5 * PER_TRACE and set(counts.values()) == {1}
    assert len({s.id for s in standin.written_scores}) == 5 * PER_TRACE
    assert ScoreWrite.objects.count() == 5 * PER_TRACE
    assert (second.sent, second.unchanged, second.retracted) == (0, 5 * PER_TRACE, 0)


def test_unchanged_scores_are_not_sent_again(standin, traces):
    scores_write_back(project=traces[0].project, config=SMALL)
    requests = len(standin.requests)
    again = scores_write_back(project=traces[0].project, config=SMALL)
    assert len(standin.requests) == requests and again.requests == 0


def test_every_score_lands_on_its_trace_and_the_correction_on_the_labeled_generation(standin, traces):
    scores_write_back(project=traces[0].project)
    scores = standin.scores_on("trace-0003")
    assert {s.name for s in scores} == {
        "flywheel.verdict",
        "flywheel.sample_type",
        "flywheel.must_refuse",
        "flywheel.error_type",
        "flywheel.cluster",
        "output",
    }
    correction = next(s for s in scores if s.name == "output")
    assert correction.data_type == "CORRECTION" and correction.observation_id == "gen-0003"
    cluster = next(s for s in scores if s.name == "flywheel.cluster")
    assert cluster.string_value == "C12 refund · broken" and cluster.observation_id is None
    assert all(s.environment == "production" for s in scores)
    assert all("SOP v1" in (s.comment or "") for s in scores if s.name != "flywheel.cluster")


def test_a_new_decision_overwrites_the_same_scores_and_retracts_what_no_longer_applies(
    standin, traces, sop, lead
):
    project = traces[0].project
    scores_write_back(project=project)
    before = {(s.name, s.string_value): s.id for s in standin.scores_on("trace-0001")}
    old = Sample.objects.get(trace=traces[1])
    Sample.objects.filter(pk=old.pk).update(status=Sample.Status.SUPERSEDED)  # re-queued: round 2
    task = Task.objects.get(pk=old.task_id)
    task.round = 2
    task.save(update_fields=["round"])
    final_sample(
        task,
        sop,
        {"verdict": "good", "sample_type": "golden", "error_types": ["wrong_policy"], "must_refuse": False},
        answer=MODEL_ANSWER,  # the model was right after all: no correction
        reviewer=lead,
        decision=Sample.Decision.FIXED,
    )
    result = scores_write_back(project=project)
    after = {(s.name, s.string_value): s.id for s in standin.scores_on("trace-0001")}
    assert after[("flywheel.verdict", "good")] == before[("flywheel.verdict", "bad")]
    assert after[("flywheel.sample_type", "golden")] == before[("flywheel.sample_type", "negative")]
    assert ("flywheel.error_type", "missing_step") not in after
    assert not any(name == "output" for name, _ in after)
    assert result.retracted == 2  # the dropped error type and the correction
    assert Counter(s.name for s in standin.scores_on("trace-0001"))["flywheel.verdict"] == 1
    verdict = next(s for s in standin.scores_on("trace-0001") if s.name == "flywheel.verdict")
    assert verdict.comment == "Flywheel label · SOP v1 · reviewer lead (fixed)"
    assert ScoreWrite.objects.filter(trace=traces[1]).count() == len(after)


def test_a_requeued_label_keeps_its_scores_until_the_new_decision(standin, traces):
    project = traces[0].project
    scores_write_back(project=project)
    Sample.objects.filter(trace=traces[2]).update(status=Sample.Status.SUPERSEDED)
    result = scores_write_back(project=project)
    assert (result.sent, result.retracted) == (0, 0)
    assert len(standin.scores_on("trace-0002")) == PER_TRACE


def test_a_discarded_label_is_retracted_but_the_cluster_stays(standin, traces):
    project = traces[0].project
    scores_write_back(project=project)
    Sample.objects.filter(trace=traces[2]).update(status=Sample.Status.DISCARDED)
    result = scores_write_back(project=project)
    assert result.retracted == PER_TRACE - 1
    assert [s.name for s in standin.scores_on("trace-0002")] == ["flywheel.cluster"]


def test_a_renamed_cluster_updates_its_score_and_a_failure_out_of_it_loses_the_score(
    standin, traces, cluster
):
    project = traces[0].project
    scores_write_back(project=project)
    cluster.custom_name = "refund · wrong policy"
    cluster.save()
    Failure.objects.filter(trace=traces[4]).update(cluster=None, is_noise=True)
    result = scores_write_back(project=project)
    assert (result.sent, result.retracted) == (4, 1)
    values = {s.trace_id: s.string_value for s in standin.written_scores if s.name == "flywheel.cluster"}
    assert values == {f"trace-{n:04d}": "C12 refund · wrong policy" for n in range(4)}


# -- faults -----------------------------------------------------------------------------
def test_a_429_with_retry_after_is_waited_out_and_the_run_completes(standin, traces):
    standin.faults.push("/api/public/scores", "rate_limit", count=2, retry_after=4)
    slept: list[float] = []
    result = scores_write_back(project=traces[0].project, config=SMALL, writer_factory=no_sleep(slept))
    assert slept == [4, 4]
    assert result.sent == 5 * PER_TRACE and len(held(standin)) == 5 * PER_TRACE


def test_an_outage_mid_run_keeps_what_was_accepted_and_the_next_run_finishes_without_duplicates(
    standin, traces
):
    sends = {"n": 0}

    class BreaksAfterThreeBatches(ScoreWriter):
        def send(self, payloads):
            outcome = super().send(payloads)
            sends["n"] += 1
            if sends["n"] == 3:  # the server goes down for good from here on
                standin.faults.push("/api/public/", "server_error", count=10_000)
            return outcome

    def factory(config, target):
        return BreaksAfterThreeBatches(config, target=target, sleep=lambda s: None)

    with pytest.raises(SourceUnreachable) as caught:
        scores_write_back(project=traces[0].project, config=SMALL, writer_factory=factory)
    assert "HTTP 500" in caught.value.message
    assert ScoreWrite.objects.count() == len(standin.written_scores) == 3 * SMALL.batch_size

    standin.faults.clear()
    result = scores_write_back(project=traces[0].project, config=SMALL)
    assert (result.sent, result.unchanged) == (5 * PER_TRACE - 12, 12)
    counts = held(standin)
    assert len(counts) == 5 * PER_TRACE and set(counts.values()) == {1}
    assert ScoreWrite.objects.count() == 5 * PER_TRACE


def test_the_command_exits_69_when_langfuse_is_down_and_says_the_next_run_continues(standin, traces):
    standin.faults.push("/api/public/", "server_error", count=10_000)
    code, _out, err = command("--project", "shop")
    assert code == 69
    assert "did not take POST /api/public/scores" in err and "run the write-back again" in err
    assert ScoreWrite.objects.count() == 0


def test_wrong_keys_exit_77_naming_the_env_var_and_write_nothing(standin, traces, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "sk-lf-not-the-key")
    code, _out, err = command("--project", "shop")
    assert code == 77
    assert "rejected the API keys" in err and SECRET_ENV in err and "sk-lf-not-the-key" not in err
    assert ScoreWrite.objects.count() == 0 and standin.written_scores == []


def test_a_missing_secret_exits_78_with_the_variable_to_set(standin, traces, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    code, _out, err = command("--project", "shop")
    assert code == 78 and f"Export {SECRET_ENV}=" in err


def test_refused_scores_are_listed_exit_65_and_go_again_next_run(standin, traces):
    refusal = {"accepted": 0, "rejected": 1, "errors": [{"message": "Score at index 0: not today"}]}
    # The first batch, then each of its rows on its own, are answered with a 207.
    standin.faults.push("/api/public/scores", "status", count=1 + 4, status=207, body=refusal)
    result = scores_write_back(project=traces[0].project, config=SMALL)
    assert result.failed == 4 and result.sent == 5 * PER_TRACE - 4
    assert result.failures[0].endswith(": Score at index 0: not today")
    assert "4 refused" in result.summary()
    code, out, _err = command("--project", "shop")
    assert code == 0 and "4 scores sent" in out
    assert len(held(standin)) == 5 * PER_TRACE


def test_the_command_prints_refusals_and_exits_65(standin, traces):
    refusal = {"accepted": 0, "rejected": 1, "errors": [{"message": "Score at index 0: not today"}]}
    standin.faults.push("/api/public/scores", "status", count=1 + 5 * PER_TRACE, status=207, body=refusal)
    code, out, err = command("--project", "shop")
    assert code == 65
    assert f"{5 * PER_TRACE} refused" in out
    assert "refused: flywheel.verdict on trace trace-0000: Score at index 0: not today" in err
    assert "the next run sends them again" in err


# -- targets ----------------------------------------------------------------------------
def test_traces_of_a_file_source_without_a_writeback_source_are_counted_and_skipped(
    standin, project, source, sop
):
    files = SourceFactory(project=project, name="exports", kind="file")
    labeled_trace(source, sop, n=1)
    labeled_trace(files, sop, n=2)
    result = scores_write_back(project=project)
    assert (result.considered, result.skipped_no_target) == (2, 1)
    assert "1 traces skipped (no Langfuse target)" in result.summary()
    assert {s.trace_id for s in standin.written_scores} == {"trace-0001"}


def test_a_writeback_source_takes_the_scores_of_file_imported_traces(standin, project, source, sop):
    files = SourceFactory(project=project, name="exports", kind="file")
    labeled_trace(files, sop, n=2)
    FlywheelPolicy.objects.create(project=project, writeback_source=source)
    result = scores_write_back(project=project)
    assert result.skipped_no_target == 0 and result.sent == PER_TRACE - 1  # no cluster
    assert {s.trace_id for s in standin.written_scores} == {"trace-0002"}
    assert set(ScoreWrite.objects.values_list("source__name", flat=True)) == {source.name}


def test_each_trace_goes_to_the_langfuse_project_it_came_from(project, source, sop, monkeypatch):
    with LangfuseStandin(public_key="pk-lf-other", secret_key="sk-lf-other") as other:
        monkeypatch.setenv("OTHER_SECRET", "sk-lf-other")
        second = SourceFactory(
            project=project,
            name="other-langfuse",
            base_url=other.base_url,
            public_key="pk-lf-other",
            secret_key_env="OTHER_SECRET",
        )
        labeled_trace(source, sop, n=1)
        labeled_trace(second, sop, n=2)
        result = scores_write_back(project=project)
        assert result.sent == 2 * (PER_TRACE - 1)
        assert {s.trace_id for s in other.written_scores} == {"trace-0002"}
    rows = ScoreWrite.objects.values_list("source__name", "trace__external_id").distinct()
    assert set(rows) == {("shop-langfuse", "trace-0001"), ("other-langfuse", "trace-0002")}


def test_a_server_that_takes_one_score_per_request_gets_every_score_exactly_once(project, source, sop):
    with LangfuseStandin(mode="old", score_batches=False) as old:
        TraceSource.objects.filter(pk=source.pk).update(base_url=old.base_url)
        labeled_trace(source, sop, n=1)
        first = scores_write_back(project=project)
        second = scores_write_back(project=project)
        assert (first.sent, first.failed, second.sent) == (PER_TRACE - 1, 0, 0)
        assert len(old.written_scores) == PER_TRACE - 1


def test_a_file_source_as_writeback_source_is_a_configuration_error(project, source, sop):
    files = SourceFactory(project=project, name="exports", kind="file")
    FlywheelPolicy.objects.create(project=project, writeback_source=files)
    labeled_trace(source, sop)
    code, _out, err = command("--project", "shop")
    assert code == 78 and "'exports'" in err and "Langfuse API source" in err


def test_a_dry_run_counts_what_would_be_sent_and_sends_nothing(standin, traces, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)  # a dry run needs no keys: it never calls Langfuse
    code, out, _err = command("--project", "shop", "--dry-run")
    assert code == 0 and f"{5 * PER_TRACE} scores would send" in out
    assert standin.requests == [] and ScoreWrite.objects.count() == 0


def test_write_back_switched_off_sends_nothing(standin, traces):
    FlywheelPolicy.objects.create(project=traces[0].project, writeback_enabled=False)
    result = scores_write_back(project=traces[0].project)
    assert "write-back is off" in result.summary() and standin.requests == []


def test_an_unknown_project_exits_66(db):
    code, _out, err = command("--project", "nope")
    assert code == 66 and "nope" in err


# -- what goes over the wire ------------------------------------------------------------
@pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"openapi.yml not found at {SPEC_PATH}")
def test_every_body_sent_matches_create_score_request_and_an_id_keeps_its_timestamp(standin, traces, sop):
    project = traces[0].project
    scores_write_back(project=project)
    Sample.objects.filter(trace=traces[0]).update(values={"verdict": "good", "sample_type": "golden"})
    scores_write_back(project=project)
    bodies = score_posts(standin)
    assert len(bodies) > 5 * PER_TRACE  # the second run re-sent the changed label
    stamps: dict[str, set[str]] = {}
    for body in bodies:
        validate(body, "CreateScoreRequest")
        stamps.setdefault(body["id"], set()).add(body["timestamp"])
    assert all(len(s) == 1 for s in stamps.values())
