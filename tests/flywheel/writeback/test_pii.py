"""No score sent to Langfuse carries an original PII value (the real scrubber, the real SDK over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from annotate.models import Task
from flywheel.ingest.sync import sync_langfuse
from flywheel.models import Failure, SyncRun, Trace
from flywheel.services.writeback import scores_write_back
from tests.flywheel import pii_corpus
from tests.flywheel.writeback.conftest import final_sample

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_trace_full_of_pii_is_written_back_with_placeholders_only(standin, source, sop, cluster):
    standin.add_trace_bundle(pii_corpus.bundle("pii-trace", minute=3))
    run = sync_langfuse(
        source=source, since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 3, tzinfo=UTC)
    )
    assert run.status == SyncRun.Status.SUCCEEDED
    trace = Trace.objects.get(external_id="pii-trace")
    user, answer = trace.conversation[-2]["content"], trace.conversation[-1]["content"]
    failure = Failure.objects.create(
        project=trace.project, trace=trace, rules=["thumbs-down"], cluster=cluster
    )
    task = Task.objects.create(
        project=trace.project,
        trace=trace,
        failure=failure,
        cluster=cluster,
        model_answer=answer,
        review=Task.Review.FINAL,
    )
    # The golden answer is written from what the annotator saw: the scrubbed conversation.
    golden = f"{answer} I also noted your request: {user}"
    values = {"verdict": "bad", "error_types": ["wrong_policy"], "sample_type": "negative"}
    final_sample(task, sop, values | {"must_refuse": False, "domain": "billing"}, answer=golden)

    result = scores_write_back(project=trace.project)

    assert result.sent == 6 and result.failed == 0
    sent = [r.body.decode("utf-8") for r in standin.requests if r.path.startswith("/api/public/scores")]
    assert sent, "nothing was sent"
    wire = "\n".join(sent)
    assert pii_corpus.leaks(wire) == []
    # Not vacuous: the corrected answer went out, with the trace's placeholders in it.
    assert "<PERSON_1>" in wire and "<PHONE_NUMBER_1>" in wire
    assert "output" in {s.name for s in standin.scores_on("pii-trace")}
