"""A corpus full of PII, ingested through every path, leaves no original value anywhere.

Paths in: the Langfuse API (the stand-in, synced by the nightly) and every export file the
import command reads: the download-trace bundle JSONL, the UI trace and observation exports
(.json/.jsonl/.csv) and the blob-storage tables (traces, observations, scores) as .jsonl,
.jsonl.gz, .json, .csv, .csv.gz and .parquet. PII sits in every field a format carries: trace
input/output/metadata, user and session id, tags, observation input/output/metadata and status
message, score comments and string values, plus rows malformed on purpose (quarantined).

Then the loop runs on it with the real parts (Presidio at the door, MiniLM): the nightly syncs,
flags, embeds and de-duplicates; the lead creates tasks for the new failures; two annotators
label through the API, writing the golden answer from what they were shown; a release is
published (the PII gate re-scans it); the labels go back to Langfuse as scores; annotations and
cluster assignments are exported.

Scanned for any original value, and each scan shown not to be vacuous: every database table
(dumpdata and a raw SELECT of every table), the logs at DEBUG (caplog, the process's
stdout/stderr, each command's output), what the API showed the annotators, every file under
DATA_DIR (releases, caches, exports), the downloaded release archive, and every request sent to
Langfuse. Logger levels are the production ones (settings.LOGGING quiets Presidio, which logs
analysed text at DEBUG, whatever LOG_LEVEL says).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import pickle
import re
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client

from annotate.models import LabelingPolicy, Role, Sample
from annotate.services.review import review_discard
from annotate.services.sops import sop_bootstrap
from flywheel.models import FlywheelPolicy, Project, Quarantine, Release, Trace
from flywheel.rules import load_rules
from flywheel.services.export import ReleaseRefused, release_dry_run
from flywheel.services.rules import rules_replace
from flywheel.standin import LangfuseStandin
from tests.factories import ProjectFactory, UserFactory, member, standin_source
from tests.flywheel import pii_corpus
from tests.flywheel.ingest.test_files import (
    BLOB_FORMATS,
    BLOB_ROWS,
    UI_FORMATS,
    ui_observation_row,
    ui_trace_row,
)
from tests.flywheel.ingest.test_files import write as write_rows

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

P = pii_corpus.PII
SECRET_ENV = "TEST_PII_EVERYWHERE_SECRET"
RULES = """
rules:
  - name: thumbs-down
    score: {name: user-feedback, op: "<", value: 1}
"""
# Each trace asks something else, so dedup keeps them apart: each failure becomes a task.
TOPICS = [
    "Where is the refund for the {item} I sent back last week?",
    "The {item} I ordered has not arrived yet, when will it be delivered?",
    "Why was I charged twice for the {item} on my last invoice?",
]
ITEMS = [
    "kettle",
    "toaster",
    "blender",
    "lamp",
    "backpack",
    "jacket",
    "headphones",
    "mattress",
    "desk",
    "bike",
]
CARD_SENTENCE = f"about my card {P['card']}."


def question(n: int) -> str:
    return TOPICS[n % len(TOPICS)].format(item=ITEMS[(n // len(TOPICS)) % len(ITEMS)])


def user_text(n: int) -> str:
    return f"Hi, I'm {P['person']}. Please call me at {P['phone']} {CARD_SENTENCE} {question(n)}"


ANSWER = f"Thanks {P['person']}, I emailed {P['email']} with the details."
METADATA = {"client_ip": P["ip"], "nested": {"note": f"escalated by {P['person2']}"}}
OBS_METADATA = {"customer": {"email": P["email"], "phone": P["phone"], "ip": P["ip"]}}
STATUS = f"handed over to {P['person2']} ({P['email2']}) after a complaint"
COMMENT = f"{P['person2']} said the answer was wrong, reach him at {P['email2']}"
TAGS = ["support", P["email"]]
SESSION = f"session of {P['email2']}"


def messages(n: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a support assistant."},
        {"role": "user", "content": user_text(n)},
    ]


def ch_time(n: int) -> str:
    return f"2026-11-02 {11 + n // 60:02d}:{n % 60:02d}:05.678"  # ClickHouse: naive UTC


def iso_time(n: int) -> str:
    return f"2026-11-02T{11 + n // 60:02d}:{n % 60:02d}:00.000Z"


# --- the corpus, one builder per path ---------------------------------------------------------


def api_bundle(trace_id: str, n: int) -> dict[str, Any]:
    """pii_corpus's bundle with its own question, and PII in the session, tags and status too."""
    text = json.dumps(pii_corpus.bundle(trace_id, minute=n % 60))
    bundle: dict[str, Any] = json.loads(text.replace(CARD_SENTENCE, f"{CARD_SENTENCE} {question(n)}"))
    bundle["trace"].update(sessionId=SESSION, tags=TAGS)
    bundle["observations"][0]["statusMessage"] = STATUS
    return bundle


def ui_trace_rows(prefix: str, start: int) -> list[dict[str, Any]]:
    rows = [
        ui_trace_row(
            f"{prefix}-{i}",
            timestamp=iso_time(start + i),
            userId=P["email2"],
            sessionId=SESSION,
            tags=TAGS,
            input=user_text(start + i),
            output=ANSWER,
            metadata=METADATA,
            release=f"hotfix for {P['email']}",
            sentiment=[COMMENT],
            **{"user-feedback": [0]},
        )
        for i in range(2)
    ]
    # Malformed, PII in its bad field and around it: quarantined without its content.
    return [*rows, {**rows[0], "id": f"{prefix}-bad", "timestamp": P["email"]}]


def ui_observation_rows(prefix: str, start: int) -> list[dict[str, Any]]:
    rows = [
        ui_observation_row(
            f"{prefix}-{i}-g1",
            f"{prefix}-{i}",
            startTime=iso_time(start + i),
            endTime=iso_time(start + i),
            traceTimestamp=iso_time(start + i),
            input=messages(start + i),
            output={"role": "assistant", "content": ANSWER},
            metadata=OBS_METADATA,
            statusMessage=STATUS,
            userId=P["email2"],
            sessionId=SESSION,
            traceTags=TAGS,
            correctness=[COMMENT],
            **{"user-feedback": [0]},
        )
        for i in range(2)
    ]
    bad = {**rows[0], "id": f"{prefix}-bad-g1", "traceId": f"{prefix}-bad", "startTime": P["phone"]}
    return [*rows, bad]


def blob_tables(prefix: str, start: int) -> dict[str, list[dict[str, Any]]]:
    trace_row, obs_row, score_row = BLOB_ROWS["traces"][0], BLOB_ROWS["observations"][0], BLOB_ROWS["scores"]
    traces, observations, scores = [], [], []
    for i in range(2):
        tid, n = f"{prefix}-{i}", start + i
        traces.append(
            {**trace_row, "id": tid, "timestamp": ch_time(n), "created_at": ch_time(n),
             "updated_at": ch_time(n), "metadata": METADATA, "user_id": P["email2"], "session_id": SESSION,
             "tags": TAGS, "release": f"hotfix for {P['email']}",
             "input": json.dumps(messages(n)), "output": ANSWER}
        )  # fmt: skip
        observations.append(
            {**obs_row, "id": f"{tid}-g1", "trace_id": tid, "start_time": ch_time(n), "end_time": ch_time(n),
             "level": "DEFAULT", "status_message": STATUS, "metadata": OBS_METADATA,
             "input": json.dumps(messages(n)), "output": json.dumps({"role": "assistant", "content": ANSWER})}
        )  # fmt: skip
        scores += [
            {**score_row[0], "id": f"{tid}-s1", "trace_id": tid, "observation_id": f"{tid}-g1",
             "timestamp": ch_time(n), "name": "user-feedback", "value": 0.0, "source": "API",
             "comment": COMMENT, "data_type": "NUMERIC", "string_value": None},
            {**score_row[1], "id": f"{tid}-s2", "trace_id": tid, "observation_id": f"{tid}-g1",
             "timestamp": ch_time(n), "name": "tone", "value": 0.0, "source": "API",
             "comment": COMMENT, "data_type": "CATEGORICAL", "string_value": STATUS},
        ]  # fmt: skip
    return {"traces": traces, "observations": observations, "scores": scores}


def write_corpus(folder: Path) -> tuple[dict[str, list[Path]], dict[str, int]]:
    """Every export file by path (trace id prefix), and how many good traces each path carries."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"bundle": [pii_corpus.write(folder / "bundles.jsonl", ["bundle-0", "bundle-1"])]}
    n = 4  # the API's traces ask questions 0-3: every trace asks its own (3 topics x 10 items)
    for suffix in UI_FORMATS:
        tag = suffix.strip(".")
        files[f"uit-{tag}"] = [
            write_rows(folder / f"traces-{tag}" / f"traces{suffix}", ui_trace_rows(f"uit-{tag}", n))
        ]
        files[f"uio-{tag}"] = [
            write_rows(
                folder / f"observations-{tag}" / f"observations{suffix}",
                ui_observation_rows(f"uio-{tag}", n + 2),
            )
        ]
        n += 4
    for suffix in BLOB_FORMATS:
        tag = suffix.strip(".").replace(".", "-")
        files[f"blob-{tag}"] = []
        for table, rows in blob_tables(f"blob-{tag}", n).items():
            if suffix != ".parquet" and table == "traces":  # a mixed-type column would not go into Arrow
                rows = [*rows, {**rows[0], "id": f"blob-{tag}-bad", "timestamp": P["card"]}]
            files[f"blob-{tag}"].append(write_rows(folder / "p-1" / table / f"{tag}{suffix}", rows))
        n += 2
    return files, {prefix: 2 for prefix in files}


# --- the world --------------------------------------------------------------------------------


@pytest.fixture
def standin() -> Iterator[LangfuseStandin]:
    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundles(api_bundle(f"api-{i}", i) for i in range(4))
        yield lf


@pytest.fixture
def world(standin, settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    monkeypatch.setenv(SECRET_ENV, standin.secret_key)
    project = ProjectFactory(
        name="acme",
        # A few dozen failures form no cluster of 50: the clusterer stops before UMAP (whose first
        # call costs 20-40 s of JIT) and the lead makes tasks for every new failure instead.
        cluster_params={"min_cluster_size": 50},
        near_duplicate_threshold=0.999,  # the traces share a long scrubbed prefix: keep them apart
    )
    source = standin_source(
        standin,
        SECRET_ENV,
        project=project,
        name="acme-lf",
        initial_since=datetime(2026, 11, 1, tzinfo=UTC),
        window_hours=24 * 40,
    )
    rules_replace(project=project, ruleset=load_rules(RULES))
    lead = member(project, Role.LEAD, username="lead")
    annotators = [member(project, Role.ANNOTATOR, username=f"ann{i}") for i in (1, 2)]
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, overlap_share=1.0, overlap_annotators=2, gold_rate=0.0)
    FlywheelPolicy.objects.create(
        project=project,
        min_release_samples=1,
        test_share=0.2,
        training_mode=FlywheelPolicy.TrainingMode.OFF,
        writeback_source=source,  # the file-imported traces go back to the same Langfuse
    )
    return project, lead, annotators


class Outputs:
    """Everything the commands and the API said, to be scanned with the logs."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def command(self, *args: str) -> int:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err)
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        self.texts += [out.getvalue(), err.getvalue()]
        return code

    def joined(self) -> str:
        return "\n".join(self.texts)


def label_through_the_api(project: Project, annotators: list[Any], outputs: Outputs) -> int:
    """Both annotators label every task the same way; the golden answer is built from what the
    API showed them (the scrubbed conversation), as a careful annotator would copy it."""
    clients = []
    for user in annotators:
        client = Client()
        client.force_login(user)
        clients.append(client)
    submitted, busy = 0, True
    while busy:
        busy = False
        for client in clients:
            lease = client.post(f"/api/projects/{project.pk}/next-task/")
            if lease.status_code == 204:
                continue
            assert lease.status_code == 200, lease.content
            shown = lease.json()
            outputs.texts.append(lease.content.decode("utf-8"))
            user = next(m["content"] for m in reversed(shown["conversation"]) if m["role"] == "user")
            golden = f"{shown['model_answer']} I also noted your request: {user}"
            values = {
                "verdict": "bad",
                "error_types": ["hallucinated facts"],
                "corrected_output": golden,
                "must_refuse": False,
                "sample_type": "negative" if shown["task"] % 2 else "golden",
                "task_type": "qa",
                "difficulty": "easy",
                "domain": "support",
            }
            response = client.post(
                f"/api/assignments/{shown['assignment']}/submit/",
                {"values": values, "seconds_spent": 20},
                content_type="application/json",
            )
            assert response.status_code == 201, response.content
            outputs.texts.append(response.content.decode("utf-8"))
            submitted += 1
            busy = True
    return submitted


def publish_a_release(project: Project, lead: Any, outputs: Outputs) -> Release:
    """export_release; if the PII gate refuses items, the lead discards them and exports again."""
    for _ in range(3):
        if outputs.command("export_release", "--project", project.name, "--no-progress") == 0:
            return Release.objects.get(project=project)
        try:
            release_dry_run(project=project)
        except ReleaseRefused as refused:
            outputs.texts.append(str(refused))
            assert refused.pii_items, refused  # only the PII gate may refuse this corpus
            flagged = Sample.objects.filter(project=project, status="final", item_key__in=refused.pii_items)
            for sample in flagged:
                assert sample.task_id is not None
                review_discard(project=project, task_id=sample.task_id, reviewer=lead, comment="PII gate")
    raise AssertionError("no release was published:\n" + outputs.joined()[-2000:])


# --- the scans ----------------------------------------------------------------------------------


def dumpdata() -> str:
    out = io.StringIO()
    call_command("dumpdata", "--exclude", "contenttypes", "--exclude", "auth.permission", stdout=out)
    return out.getvalue()


def cell_text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def every_table() -> dict[str, str]:
    """Each table's rows as text, read raw, so tables dumpdata does not know count too.

    The database cache stores pickles in base64 and sessions are signed base64: both are
    decoded as well, or a value hidden in them would pass unseen.
    """
    caches = {c["LOCATION"] for c in settings.CACHES.values() if c["BACKEND"].endswith(".db.DatabaseCache")}
    tables = {}
    with connection.cursor() as cursor:
        for name in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(name)}")
            columns = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
            tables[name] = "\n".join(" | ".join(cell_text(cell) for cell in row) for row in rows)
            if name in caches:
                values = (row[columns.index("value")] for row in rows)
                tables[f"{name} (unpickled)"] = "\n".join(
                    # Our own test database's rows, written by Django's cache a moment ago.
                    repr(pickle.loads(base64.b64decode(value)))  # noqa: S301
                    for value in values
                )
    tables["django_session (decoded)"] = "\n".join(repr(s.get_decoded()) for s in Session.objects.all())
    return tables


def content_text(data: bytes) -> str:
    """A file's content as text; compressed and columnar files are opened, not read as bytes."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:4] == b"PAR1":
        return json.dumps(pq.read_table(pa.BufferReader(data)).to_pylist(), default=str)
    return data.decode("utf-8", "replace")


def file_text(path: Path) -> str:
    return content_text(path.read_bytes())


def tar_gz_text(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            member.name: content_text(archive.extractfile(member).read())  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    # Formatted messages and tracebacks, plus every attribute of every record (args, extra=).
    return caplog.text + "\n".join(repr(vars(record)) for record in caplog.records)


def leaks_by_place(places: dict[str, str]) -> dict[str, list[str]]:
    return {place: found for place, text in places.items() if (found := pii_corpus.leaks(text))}


# --- the test -----------------------------------------------------------------------------------


def test_pii_through_every_path_leaves_no_original_value_in_the_database_logs_exports_or_writeback(
    world, standin, tmp_path, settings, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    project, lead, annotators = world
    outputs = Outputs()

    # In: every export file through the import command, the API through the nightly's sync.
    files, expected = write_corpus(tmp_path / "in")
    paths = [str(path) for group in files.values() for path in group]
    assert outputs.command("import_traces", *paths, "--project", "acme", "--no-progress") == 0
    assert outputs.command("nightly", "--project", "acme", "--fresh", "--no-progress") == 0, outputs.joined()
    expected["api"] = 4

    traces = list(Trace.objects.filter(project=project))
    by_path = {
        prefix: [t for t in traces if t.external_id.rsplit("-", 1)[0] == prefix] for prefix in expected
    }
    assert {prefix: len(found) for prefix, found in by_path.items()} == expected
    for trace in traces:  # each one arrived with its content, scrubbed: not an empty shell
        assert re.search(r"<PERSON_\d+>", json.dumps(trace.conversation)), trace.external_id
    assert Quarantine.objects.filter(project=project).count() == 2 * len(UI_FORMATS) + len(BLOB_FORMATS) - 1
    assert outputs.command("quarantine", "--project", "acme") == 0
    assert "is not ISO 8601" in outputs.texts[-2]  # the rejects as the command lists them
    lead_client = Client()
    lead_client.force_login(lead)
    made = lead_client.post(
        f"/api/projects/{project.pk}/tasks/", {"all_new": True}, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["created"] >= 10, made.content

    # The loop: label, release, write back, and the other exports.
    assert label_through_the_api(project, annotators, outputs) >= 2
    assert Sample.objects.filter(project=project, status="final").exists()
    release = publish_a_release(project, lead, outputs)
    assert outputs.command("write_back", "--project", "acme", "--no-progress") == 0, outputs.joined()
    exports = settings.DATA_DIR / "exports"
    exports.mkdir()
    for fmt in ("csv", "json"):
        out = str(exports / f"annotations.{fmt}")
        assert (
            outputs.command("annotations", "export", "--project", "acme", "--format", fmt, "--out", out) == 0
        )
    assignments = str(exports / "assignments.csv")
    assert outputs.command("cluster_failures", "--project", "acme", "--export-assignments", assignments) == 0
    download = lead_client.get(f"/api/projects/{project.pk}/releases/{release.number}/download/")
    assert download.status_code == 200
    archive = tar_gz_text(b"".join(download.streaming_content))  # type: ignore[attr-defined]

    # The whole database.
    dump = dumpdata()
    tables = every_table()
    assert "<PERSON_1>" in dump and "<EMAIL_ADDRESS_" in dump and "<PHONE_NUMBER_" in dump
    assert "<CREDIT_CARD_" in dump and "<IP_ADDRESS_" in dump
    assert tables["flywheel_trace"].count("<PERSON_1>") >= len(traces)
    assert leaks_by_place({"dumpdata": dump, **tables}) == {}

    # Every file under DATA_DIR, and the release as downloaded.
    on_disk = {
        str(p.relative_to(settings.DATA_DIR)): file_text(p)
        for p in settings.DATA_DIR.rglob("*")
        if p.is_file()
    }
    release_files = {
        name: text for name, text in on_disk.items() if name.startswith(f"releases/{release.release_id}/")
    }
    assert any(name.endswith(".jsonl") and text.strip() for name, text in release_files.items()), (
        on_disk.keys()
    )
    assert "<PERSON_1>" in "".join(release_files.values())
    assert {"exports/annotations.csv", "exports/annotations.json", "exports/assignments.csv"} <= set(on_disk)
    assert "<PERSON_1>" in on_disk["exports/annotations.json"]
    assert len(archive) > 1 and "<PERSON_1>" in "".join(archive.values())
    assert leaks_by_place(on_disk) == {}
    assert leaks_by_place(archive) == {}

    # Write-back: every request sent to Langfuse, bodies and query strings.
    sent = [r for r in standin.requests if r.method == "POST" and r.path.startswith("/api/public/scores")]
    assert sent, "no score was written back"
    wire = "\n".join(r.body.decode("utf-8") for r in sent)
    assert "<PERSON_1>" in wire and "<PHONE_NUMBER_" in wire  # the corrected answers went out
    every_request = "\n".join(f"{r.method} {r.path} {r.query} {r.body!r}" for r in standin.requests)
    assert leaks_by_place({"score bodies": wire, "all requests": every_request}) == {}

    # Logs and output: caplog at DEBUG, the process's stdout/stderr, commands and API responses.
    logs = log_text(caplog)
    assert caplog.records and "nightly run" in logs
    captured = capfd.readouterr()
    assert "published" in outputs.joined()
    assert (
        leaks_by_place(
            {
                "logs": logs,
                "stdout": captured.out,
                "stderr": captured.err,
                "commands and API": outputs.joined(),
            }
        )
        == {}
    )


def test_the_corpus_carries_every_original_value_on_every_path(tmp_path):
    """The other test is only as strong as its input: each path's files hold every raw value."""
    files, _ = write_corpus(tmp_path)
    carried = {prefix: "".join(file_text(path) for path in paths) for prefix, paths in files.items()}
    carried["api"] = json.dumps(api_bundle("api-0", 0))
    missing = {
        prefix: set(pii_corpus.RAW_VALUES) - set(pii_corpus.leaks(text)) for prefix, text in carried.items()
    }
    assert missing == {prefix: set() for prefix in carried}
    assert len(carried) == 2 + 2 * len(UI_FORMATS) + len(BLOB_FORMATS)
    assert api_bundle("api-1", 1)["trace"]["input"].endswith(question(1))


def test_each_scan_finds_an_original_value_planted_where_it_looks(tmp_path, caplog):
    """The scans above can fail: a raw value in a table, the cache, a session, a compressed or
    columnar file, an archive or a log record's extra fields is reported where it is."""
    cache.set("planted", {"note": P["email"]})
    Project.objects.create(name="planted", pii_allow_list=[P["person"]])
    client = Client()
    client.force_login(UserFactory())
    session = client.session
    session["planted"] = P["phone"]
    session.save()
    found = leaks_by_place(every_table())
    assert found["flywheel_project"] == [P["person"]]
    assert found["flywheel_cache (unpickled)"] == [P["email"]]
    assert found["django_session (decoded)"] == [P["phone"]]
    assert pii_corpus.leaks(dumpdata()) == [P["person"]]

    gz = write_rows(tmp_path / "rows.jsonl.gz", [{"note": P["card"]}])
    parquet = write_rows(tmp_path / "rows.parquet", [{"note": P["ip"]}])
    assert (pii_corpus.leaks(file_text(gz)), pii_corpus.leaks(file_text(parquet))) == ([P["card"]], [P["ip"]])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(gz, arcname="release/rows.jsonl.gz")
        archive.add(parquet, arcname="release/rows.parquet")
    assert leaks_by_place(tar_gz_text(buffer.getvalue())) == {
        "release/rows.jsonl.gz": [P["card"]],
        "release/rows.parquet": [P["ip"]],
    }

    with caplog.at_level(logging.DEBUG):
        logging.getLogger("flywheel.planted").debug("%d rows", 3, extra={"counts": {"by": P["person2"]}})
    assert pii_corpus.leaks(log_text(caplog)) == [P["person2"]]
