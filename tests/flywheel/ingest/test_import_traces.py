"""import_traces end to end: parse, scrub, store; idempotent; quarantine; no raw PII anywhere."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from flywheel.models import Observation, Quarantine, Score, SyncRun, Trace
from tests.flywheel import pii_corpus

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "langfuse" / "samples"


def run_import(*paths: Path, project: str = "acme") -> str:
    out = io.StringIO()
    call_command("import_traces", *map(str, paths), "--project", project, "--create-project", stdout=out)
    return out.getvalue()


def dump_database() -> str:
    out = io.StringIO()
    call_command("dumpdata", "flywheel", "annotate", stdout=out)
    return out.getvalue()


def test_a_pii_laden_file_leaves_no_raw_value_in_the_database_dump_logs_or_output(tmp_path, caplog):
    path = pii_corpus.write(tmp_path / "pii.jsonl", ["t-1", "t-2"])
    with caplog.at_level(logging.DEBUG):
        output = run_import(path)
    assert Trace.objects.count() == 2
    assert pii_corpus.leaks(dump_database()) == []
    assert pii_corpus.leaks(caplog.text) == []
    assert pii_corpus.leaks(output) == []


def test_placeholders_are_typed_and_consistent_within_a_trace_and_restart_in_the_next(tmp_path):
    run_import(pii_corpus.write(tmp_path / "pii.jsonl", ["t-1", "t-2"]))
    first, second = Trace.objects.order_by("external_id")
    generation = first.observations.get()
    assert "<PERSON_1>" in first.input and "<PERSON_1>" in first.output
    # The same person and e-mail in the observation's nested messages get the same placeholders;
    # the user id is another address, so another placeholder.
    assert "<PERSON_1>" in json.dumps(generation.input)
    email = generation.metadata["customer"]["email"]
    assert re.fullmatch(r"<EMAIL_ADDRESS_\d>", email) and email in first.output
    assert re.fullmatch(r"<EMAIL_ADDRESS_\d>", first.user_id) and first.user_id != email
    # The second person (metadata, score comment) is someone else; the next trace starts at 1 again.
    assert first.metadata["nested"]["note"] == "escalated by <PERSON_2>"
    assert second.input == first.input
    assert first.scrub_audit["counts"]["PERSON"] >= 3
    assert first.scrub_audit["config_hash"]


def test_the_conversation_is_extracted_from_the_scrubbed_generation(tmp_path):
    run_import(pii_corpus.write(tmp_path / "pii.jsonl", ["t-1"]))
    conversation = Trace.objects.get().conversation
    assert [m["role"] for m in conversation] == ["system", "user", "assistant"]
    assert conversation[-1]["content"].startswith("Thanks <PERSON_1>")


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    path = pii_corpus.write(tmp_path / "pii.jsonl", ["t-1", "t-2", "t-3"])
    run_import(path)
    before = dump_database()
    counts = (Trace.objects.count(), Observation.objects.count(), Score.objects.count())
    run_import(path)
    second = SyncRun.objects.order_by("-id").first()
    assert (second.created, second.updated) == (0, 0)
    assert second.unchanged == second.read
    assert (Trace.objects.count(), Observation.objects.count(), Score.objects.count()) == counts
    strip = lambda dump: [r for r in json.loads(dump) if r["model"] not in {"flywheel.syncrun"}]  # noqa: E731
    normalise = lambda rows: [  # noqa: E731
        {**r, "fields": {k: v for k, v in r["fields"].items() if k not in {"updated_at", "last_seen"}}}
        for r in rows
    ]
    assert normalise(strip(dump_database())) == normalise(strip(before))


def test_a_malformed_record_is_quarantined_without_its_content_and_the_rest_still_loads(tmp_path):
    path = pii_corpus.write(tmp_path / "mixed.jsonl", ["good-1", "good-2"])
    with path.open("a") as out:
        out.write(json.dumps({"trace": {"timestamp": "yesterday", "input": pii_corpus.PII["email"]}}) + "\n")
        out.write("{not json at all " + pii_corpus.PII["phone"] + "\n")
    output = run_import(path)
    assert set(Trace.objects.values_list("external_id", flat=True)) == {"good-1", "good-2"}
    rejects = list(Quarantine.objects.all())
    assert len(rejects) >= 2
    assert all(r.location.startswith("mixed.jsonl:") for r in rejects)
    assert pii_corpus.leaks(" ".join(r.reason for r in rejects)) == []
    assert "quarantined" in output
    run_import(path)
    assert Quarantine.objects.count() == len(rejects)  # the same reject twice is one row, seen twice
    assert {r.seen_count for r in Quarantine.objects.all()} == {2}


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared/langfuse/samples not beside the repo")
def test_every_real_langfuse_download_sample_imports_with_a_conversation(tmp_path):
    files = [shutil.copy(p, tmp_path / p.name) for p in sorted(SAMPLES.glob("*.json"))]
    run_import(*map(Path, files))
    assert Trace.objects.count() == 4
    for trace in Trace.objects.all():
        roles = [m["role"] for m in trace.conversation]
        assert "assistant" in roles, trace.name
        assert trace.observations.exists()


def test_a_missing_file_exits_66_with_its_name(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_traces", str(tmp_path / "nope.jsonl"), "--project", "acme", "--create-project")
    assert exit_info.value.code == 66
    assert "No such file" in capsys.readouterr().err


def test_an_unknown_project_without_create_flag_is_refused_with_a_hint(tmp_path, capsys):
    path = pii_corpus.write(tmp_path / "a.jsonl", ["t-1"])
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_traces", str(path), "--project", "ghost")
    assert exit_info.value.code == 66
    err = capsys.readouterr().err
    assert "No project named 'ghost'" in err and "--create-project" in err


def test_an_observation_export_imported_later_fills_in_but_never_blanks_a_stored_trace(tmp_path):
    run_import(pii_corpus.write(tmp_path / "traces.jsonl", ["t-1"]))
    stored = Trace.objects.get()
    later = tmp_path / "observations.jsonl"
    row = {
        "id": "t-1-g2",
        "traceId": "t-1",
        "type": "GENERATION",
        "name": "retry",
        "startTime": "2026-11-02T10:05:00.000Z",
        "endTime": "2026-11-02T10:05:01.000Z",
        "level": "WARNING",
        "input": "again please",
        "output": "done",
        "traceName": "support-chat",
        "traceTags": ["support"],
    }
    later.write_text(json.dumps(row) + "\n")
    run_import(later)
    trace = Trace.objects.get()
    assert trace.input == stored.input and trace.output == stored.output and trace.metadata == stored.metadata
    assert trace.observations.count() == 2
    assert trace.observations.get(external_id="t-1-g2").level == "WARNING"
