"""sync_langfuse against the Langfuse stand-in, over real HTTP through the official SDK."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from fixtures.demo_traces import generate
from flywheel.errors import SourceUnreachable
from flywheel.ingest.langfuse_api import LangfuseApiSource
from flywheel.ingest.sync import sync_langfuse
from flywheel.models import Observation, Score, SyncRun, Trace
from flywheel.standin import LangfuseStandin
from tests.commands import run_command
from tests.factories import standin_source
from tests.flywheel import pii_corpus

pytestmark = pytest.mark.django_db
SECRET_ENV = "TEST_LANGFUSE_SECRET"
DAY = datetime(2026, 11, 1, tzinfo=UTC)
N_DEMO = 40  # 40 traces, 37 s apart: about 25 minutes of traffic


def no_sleep(factory_sleep: list[float]):
    return lambda config: LangfuseApiSource(config, sleep=factory_sleep.append)


@pytest.fixture
def standin():
    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundles(generate(N_DEMO, start=DAY))
        yield lf


@pytest.fixture
def source(standin, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, standin.secret_key)
    return standin_source(
        standin,
        SECRET_ENV,
        window_hours=0.1,
        page_limit=10,
        overlap_minutes=5,
    )


def sync(source, **kwargs):
    kwargs.setdefault("since", DAY)
    kwargs.setdefault("until", DAY + timedelta(hours=1))
    return sync_langfuse(source=source, **kwargs)


def command(*args: str) -> tuple[int, str, str]:
    return run_command("sync_langfuse", *args)


def test_a_sync_stores_every_trace_with_its_observations_scores_and_conversation(standin, source):
    run = sync(source)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Trace.objects.count() == N_DEMO
    assert Observation.objects.count() == 2 * N_DEMO
    assert Score.objects.count() == sum(len(b["trace"]["scores"]) for b in generate(N_DEMO, start=DAY))
    trace = Trace.objects.exclude(name="").first()
    assert [m["role"] for m in trace.conversation][-2:] == ["user", "assistant"]
    assert source.__class__.objects.get(pk=source.pk).watermark == DAY + timedelta(hours=1)


def test_re_syncing_the_same_window_changes_nothing(standin, source):
    sync(source)
    again = sync(source)
    assert (again.created, again.updated, again.quarantined) == (0, 0, 0)
    assert again.unchanged == again.read > 0
    assert Trace.objects.count() == N_DEMO


def test_the_next_run_starts_at_the_watermark_minus_the_overlap(standin, source):
    sync(source)
    source.refresh_from_db()
    run = sync_langfuse(source=source, until=DAY + timedelta(hours=2))
    assert run.window_start == DAY + timedelta(hours=1) - timedelta(minutes=5)


def test_pii_in_api_traces_never_reaches_the_database(standin, source):
    standin.add_trace_bundle(pii_corpus.bundle("pii-trace", minute=3))
    sync(source, since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 3, tzinfo=UTC))
    trace = Trace.objects.get(external_id="pii-trace")
    out = io.StringIO()
    call_command("dumpdata", "flywheel", stdout=out)
    assert pii_corpus.leaks(out.getvalue()) == []
    assert "<PERSON_1>" in json.dumps(trace.conversation)


def test_a_429_is_waited_out_for_as_long_as_retry_after_says(standin, source):
    standin.faults.push("/api/public/v2/observations", "rate_limit", count=2, retry_after=7)
    slept: list[float] = []
    run = sync(source, source_factory=no_sleep(slept))
    assert run.status == SyncRun.Status.SUCCEEDED
    assert slept[:2] == [7, 7]
    assert Trace.objects.count() == N_DEMO


def test_an_outage_mid_sync_keeps_what_was_committed_and_the_next_run_completes_without_duplicates(
    standin, source
):
    pages = {"n": 0}

    class BreaksAfterThreePages(LangfuseApiSource):
        def read_window(self, start, end):
            for page in super().read_window(start, end):
                pages["n"] += 1
                if pages["n"] == 3:  # the server goes down for good from here on
                    standin.faults.push("/api/public/", "server_error", count=10_000)
                yield page

    with pytest.raises(SourceUnreachable):
        sync(source, source_factory=lambda c: BreaksAfterThreePages(c, sleep=lambda s: None))
    failed = SyncRun.objects.get()
    assert failed.status == SyncRun.Status.FAILED and "500" in failed.error
    kept = Trace.objects.count()
    assert 0 < kept < N_DEMO
    source.refresh_from_db()
    assert source.watermark is None or source.watermark < DAY + timedelta(hours=1)

    standin.faults.clear()
    run = sync(source)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Trace.objects.count() == N_DEMO
    assert Observation.objects.count() == 2 * N_DEMO


def test_an_old_self_hosted_server_is_read_through_the_legacy_endpoints(monkeypatch):
    with LangfuseStandin(mode="old") as lf:
        lf.add_trace_bundles(generate(12, start=DAY))
        monkeypatch.setenv(SECRET_ENV, lf.secret_key)
        source = standin_source(lf, SECRET_ENV)
        run = sync(source)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Trace.objects.count() == 12
    assert Observation.objects.count() == 24


def test_wrong_keys_exit_77_and_say_which_variable_to_fix(standin, source, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "sk-lf-wrong")
    code, _, err = command("--source", source.name, "--since", "2026-11-01", "--until", "2026-11-02")
    assert code == 77
    assert SECRET_ENV in err
    assert "sk-lf-wrong" not in err
    assert Trace.objects.count() == 0


def test_an_unreachable_host_exits_69_with_the_host_named(source, settings):
    settings.LANGFUSE_BACKOFF_BASE = 0.01
    source.base_url = "http://127.0.0.1:9"  # discard port: nothing listens
    source.save()
    code, _, err = command("--source", source.name, "--since", "2026-11-01", "--until", "2026-11-02")
    assert code == 69
    assert "127.0.0.1:9" in err


def test_a_missing_secret_variable_exits_78_naming_it(source, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    code, _, err = command("--source", source.name)
    assert code == 78
    assert f"export {SECRET_ENV}=" in err.lower() or SECRET_ENV in err


def test_an_unknown_source_lists_the_known_ones(source):
    code, _, err = command("--source", "nope")
    assert code == 66
    assert source.name in err


def test_a_second_sync_while_one_is_alive_is_refused_but_a_crashed_holder_expires(standin, source):
    holder = SyncRun.objects.create(source=source, heartbeat_at=timezone.now())
    code, _, err = command("--source", source.name, "--since", "2026-11-01", "--until", "2026-11-01T01:00")
    assert code == 75
    assert f"run #{holder.pk}" in err
    SyncRun.objects.filter(pk=holder.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    code, out, _ = command("--source", source.name, "--since", "2026-11-01", "--until", "2026-11-01T01:00")
    assert code == 0, out
    holder.refresh_from_db()
    assert holder.status == SyncRun.Status.FAILED and "abandoned" in holder.error
