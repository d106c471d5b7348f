"""release_publish from final samples in the database: rows, files, predecessors, refusals, the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotate.models import LabelingPolicy, Role, Sample
from annotate.services import queue
from annotate.services.sops import sop_bootstrap
from flywheel.cluster.embedding import HashingEmbedder
from flywheel.errors import InvalidInput
from flywheel.export import ReleaseQuery
from flywheel.export.records import iso
from flywheel.models import FlywheelPolicy, Release, ReleaseItem, SplitAssignment
from flywheel.pii import FakeScrubber
from flywheel.selectors.releases import final_labels_since_last_release
from flywheel.services.export import ReleaseRefused, ReleaseResult, release_dry_run, release_publish
from tests.annotate.conftest import make_tasks
from tests.factories import ProjectFactory, member
from tests.flywheel.export.seed import export_project, seed_samples
from training.release import release_load

pytestmark = pytest.mark.django_db
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SCRUBBER = FakeScrubber(key=b"test-key")


@pytest.fixture
def acme(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = FAST_HASHER  # test users log in with force_login
    project, lead = export_project("acme", min_samples=40)
    seed_samples(project, 60)
    return project, lead


def publish(project, **kwargs):
    kwargs.setdefault("scrubber", SCRUBBER)
    kwargs.setdefault("embedder", HashingEmbedder(256))
    return release_publish(project=project, **kwargs)


def releases_dir(settings) -> Path:
    return Path(settings.DATA_DIR) / "releases"


def test_a_release_is_published_from_the_final_samples_with_its_rows_and_split_assignments(acme, settings):
    project, lead = acme
    result = publish(project, user=lead)
    release = result.release
    samples = Sample.objects.filter(project=project, status=Sample.Status.FINAL).count()
    assert (release.release_id, release.number, release.sample_count) == ("acme-v1", 1, samples)
    assert release.created_by == lead and release.predecessor is None and not release.forced
    release.refresh_from_db()
    assert iso(release.created_at) == release.manifest["created_at"]
    root = releases_dir(settings) / "acme-v1"
    assert release.path == str(root.resolve()) and sorted(
        p.name for p in releases_dir(settings).iterdir()
    ) == [
        ".acme.lock",
        "acme-v1",
    ]
    assert not (root / ".publishing").exists() and not (root / ".work").exists()
    for method in ("sft", "dpo"):
        loaded = release_load(root, method=method)
        assert loaded.manifest_sha256 == release.manifest_sha256
        assert (
            sum(len(rows) for rows in loaded.rows.values())
            == release.counts[method]["train"]
            + release.counts[method]["val"]
            + release.counts[method]["test"]
        )
    assert ReleaseItem.objects.filter(release=release).count() == samples
    groups = set(Sample.objects.filter(project=project).values_list("group_key", flat=True))
    assert set(SplitAssignment.objects.filter(project=project).values_list("group_key", flat=True)) == groups
    assert release.manifest["counts"]["items"] == samples and release.warnings == result.manifest["warnings"]
    assert result.summary().startswith(f"published acme-v1: {samples} samples in {root}")


def test_lineage_resolves_from_the_samples_sop_and_generated_rows_bring_their_own_schema(acme, settings):
    project, lead = acme
    publish(project, user=lead)
    rows = []
    for split in ("train", "val", "test"):
        rows += [
            json.loads(line) for line in (releases_dir(settings) / "acme-v1" / f"sft/{split}.jsonl").open()
        ]
    by_id = {row["meta"]["id"]: row["meta"] for row in rows}
    extraction = by_id["lf:trace-00001"]  # a JSON task labeled under SOP v2 (answer field with a schema)
    assert extraction["json_schema"]["required"] == ["order_id", "status"] and extraction["reference_exact"]
    assert extraction["sop_version"] == 2 and extraction["output_format"] == "json"
    generated = by_id["gen:orders:7"]
    assert generated["origin"] == "programmatic" and generated["json_schema"]["type"] == "object"
    assert generated["reference_exact"] and generated["sop_version"] is None
    refusal = by_id["lf:trace-00002"]
    assert refusal["must_refuse"] is True and refusal["reference_exact"] is False
    variant = by_id["lf:trace-00006:v1"]
    assert (variant["augment_type"], variant["augment_round"], variant["origin"]) == (
        "paraphrase",
        1,
        "variant",
    )


def test_only_final_samples_are_exported(acme):
    project, lead = acme
    proposed, discarded, superseded = seed_samples(project, 3, start=1000)
    Sample.objects.filter(pk=proposed.pk).update(status=Sample.Status.PROPOSED)
    Sample.objects.filter(pk=discarded.pk).update(status=Sample.Status.DISCARDED)
    Sample.objects.filter(pk=superseded.pk).update(status=Sample.Status.SUPERSEDED)
    release = publish(project, user=lead).release
    keys = set(ReleaseItem.objects.filter(release=release).values_list("item_key", flat=True))
    assert not keys & {proposed.item_key, discarded.item_key, superseded.item_key}


def test_a_second_release_keeps_held_out_items_in_place_links_its_predecessor_and_diffs(acme, settings):
    project, lead = acme
    first = publish(project, user=lead).release
    before = dict(ReleaseItem.objects.filter(release=first).values_list("item_key", "split"))
    seed_samples(project, 40, start=60)
    second = publish(project, user=lead)
    release = second.release
    after = dict(ReleaseItem.objects.filter(release=release).values_list("item_key", "split"))
    assert release.predecessor == first and release.number == 2
    for key, split in before.items():
        assert after[key] == split
    diff = release.manifest["diff"]
    assert (diff["added"], diff["removed"], diff["moved"]) == (len(after) - len(before), 0, 0)
    assert release.manifest["dedup"]["mode"] == "incremental"
    assert second.stats["pii"]["from_cache"] > 0  # the first release's clean texts were not scanned again
    assert f"vs acme-v1: +{diff['added']} added" in second.summary()
    assert SplitAssignment.objects.filter(project=project, first_release=release).count() > 0


def test_too_few_samples_refuse_with_a_clear_message_and_leave_nothing_behind(acme, settings):
    project, lead = acme
    FlywheelPolicy.objects.filter(project=project).update(min_release_samples=500)
    with pytest.raises(ReleaseRefused) as refused:
        publish(project, user=lead)
    assert refused.value.exit_code == 65 and isinstance(refused.value, InvalidInput)
    assert "samples after de-duplication, fewer than the minimum of 500" in refused.value.message
    assert "--force" in refused.value.hint
    assert Release.objects.count() == 0 and SplitAssignment.objects.count() == 0
    assert [p.name for p in releases_dir(settings).iterdir()] == [".acme.lock"]
    forced = publish(project, user=lead, force=True).release
    assert forced.forced and forced.warnings[0].endswith("below the minimum of 500 (forced)")


def test_a_golden_answer_with_pii_or_broken_json_refuses_naming_items_not_values(acme):
    project, lead = acme
    leaky = Sample.objects.get(project=project, item_key="lf:trace-00003")
    leaky.answer = "Ask Alice Example at alice@example.com."
    leaky.save()
    broken = Sample.objects.get(project=project, item_key="lf:trace-00009")
    broken.answer = '{"order_id": "A-9",'
    broken.save()
    with pytest.raises(ReleaseRefused) as refused:
        publish(project, user=lead)
    reasons = refused.value.reasons
    assert reasons[0].startswith("item lf:trace-00009: the golden answer of a JSON task does not parse")
    assert reasons[1].startswith("the PII gate found 2 span(s) in 1 exported text(s) of 1 item(s)")
    assert "EMAIL_ADDRESS 1, PERSON 1" in reasons[1] and "lf:trace-00003" in reasons[1]
    assert "alice" not in refused.value.message.lower()
    assert Release.objects.count() == 0


def test_a_refusal_carries_every_flagged_item_key_for_the_caller_to_send_back(acme):
    project, lead = acme
    leaky_keys = [f"lf:trace-{i:05d}" for i in range(0, 48, 4)]  # 12: more than the message shows
    for sample in Sample.objects.filter(project=project, item_key__in=leaky_keys):
        sample.answer = "Please ask Alice, she knows."
        sample.save()
    broken = Sample.objects.get(project=project, item_key="lf:trace-00009")
    broken.answer = '{"order_id": "A-9",'
    broken.save()
    with pytest.raises(ReleaseRefused) as refused:
        publish(project, user=lead)
    error = refused.value
    assert error.pii_items == sorted(leaky_keys)
    assert error.json_items == ["lf:trace-00009"]
    assert error.release_id == "acme-v1"
    pii_reason = next(r for r in error.reasons if r.startswith("the PII gate"))
    assert pii_reason.endswith("and 2 more") and pii_reason in error.message  # the message as before


def test_a_release_that_passes_has_no_flagged_items(acme):
    project, lead = acme
    with pytest.raises(ReleaseRefused) as refused:
        publish(project, user=lead, query=ReleaseQuery(sample_types=("boundary",)))
    assert refused.value.pii_items == [] and refused.value.json_items == []
    assert any("fewer than the minimum" in r for r in refused.value.reasons)


def test_a_dry_run_runs_every_check_and_writes_nothing(acme, settings):
    project, _ = acme
    result = release_dry_run(project=project, scrubber=SCRUBBER, embedder=HashingEmbedder(256))
    assert not isinstance(result, ReleaseResult)
    assert result.summary().startswith("dry run: acme-v1 would be published")
    assert Release.objects.count() == 0 and SplitAssignment.objects.count() == 0
    assert [p.name for p in releases_dir(settings).iterdir()] == [".acme.lock"]
    assert set(result.manifest["files"]) >= {"sft/train.jsonl", "dpo/test.jsonl", "README.md"}


def test_stale_temp_dirs_and_an_orphan_left_by_a_killed_publish_are_cleaned_up(acme, settings):
    project, lead = acme
    root = releases_dir(settings)
    stale = root / ".tmp-acme-v1-abc123"
    (stale / "sft").mkdir(parents=True)
    orphan = root / "acme-v1"
    orphan.mkdir()
    (orphan / ".publishing").write_text("pid 1\n")
    other = root / ".tmp-acme-v2-v1-zzz"  # project "acme-v2": not ours to clean
    other.mkdir()
    release = publish(project, user=lead).release
    assert not stale.exists() and other.exists()
    assert Path(release.path) == orphan.resolve() and not (orphan / ".publishing").exists()


def test_a_release_directory_without_a_row_and_without_the_marker_is_never_overwritten(acme, settings):
    project, lead = acme
    (releases_dir(settings) / "acme-v1").mkdir(parents=True)
    with pytest.raises(Exception, match="never overwritten"):
        publish(project, user=lead)


def test_a_failure_while_recording_removes_the_directory_it_moved_into_place(acme, settings, monkeypatch):
    project, lead = acme

    def explode(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("flywheel.services.export._assign", explode)
    with pytest.raises(RuntimeError):
        publish(project, user=lead)
    assert Release.objects.count() == 0 and ReleaseItem.objects.count() == 0
    assert [p.name for p in releases_dir(settings).iterdir()] == [".acme.lock"]


def test_an_unknown_sample_type_in_the_query_is_refused_with_the_known_ones(acme):
    project, lead = acme
    with pytest.raises(
        InvalidInput, match="Unknown sample type 'goldn' in the query; known: boundary, generic"
    ):
        publish(project, user=lead, query=ReleaseQuery(sample_types=("goldn",)))


def test_new_final_labels_since_the_last_release_are_counted(acme):
    project, lead = acme
    assert final_labels_since_last_release(project) == Sample.objects.filter(project=project).count()
    publish(project, user=lead)
    assert final_labels_since_last_release(project) == 0
    fresh = seed_samples(project, 5, start=500)
    assert final_labels_since_last_release(project) == 0  # decided before the release was made
    Sample.objects.filter(pk__in=[s.pk for s in fresh]).update(decided_at=timezone.now())
    assert final_labels_since_last_release(project) == len(fresh)


def test_labels_made_through_labeling_and_consensus_are_exported(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    project = ProjectFactory(name="shop")
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    ann1, ann2 = (member(project, Role.ANNOTATOR, username=name) for name in ("ann1", "ann2"))
    FlywheelPolicy.objects.create(project=project, min_release_samples=1, test_share=0.5, val_share=0.0)
    make_tasks(project, 4, required=2)
    for annotator in (ann1, ann2):
        for _ in range(4):
            lease = queue.next_task(project=project, user=annotator)
            values = {"verdict": "bad", "sample_type": "negative", "task_type": "qa"}
            values["corrected_output"] = (
                f"Order {lease.task.trace.conversation[0]['content'][-2]} ships tomorrow."
            )
            queue.submit(assignment_id=lease.pk, user=annotator, values=values)
    assert Sample.objects.filter(project=project, decision=Sample.Decision.CONSENSUS).count() == 4
    release = publish(project, user=lead).release
    root = Path(release.path)
    row = json.loads((root / "dpo/train.jsonl").read_text().splitlines()[0])
    assert row["rejected"][0]["content"] == "Your order shipped."
    assert row["meta"]["decision"] == "consensus" and row["meta"]["annotator"] == "ann1"


def test_the_command_prints_the_summary_and_exits_65_with_the_reasons_when_refused(acme, monkeypatch, capsys):
    monkeypatch.setattr("flywheel.services.scrubbing.scrubber_for", lambda project: SCRUBBER)
    monkeypatch.setattr("flywheel.services.embedding.default_embedder", lambda: HashingEmbedder(256))
    call_command(
        "export_release",
        "--project",
        "acme",
        "--dry-run",
        "--sample-types",
        "golden,negative,boundary,generic",
    )
    assert "dry run: acme-v1 would be published" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        call_command("export_release", "--project", "acme", "--clusters", "C1")
    assert exit_.value.code == 65
    err = capsys.readouterr().err
    assert "error: Release acme-v1 of project 'acme' refused" in err and "fewer than the minimum of 40" in err
    assert "hint:" in err
    call_command("export_release", "--project", "acme")
    assert capsys.readouterr().out.startswith("published acme-v1")
    with pytest.raises(SystemExit) as bad:
        call_command("export_release", "--project", "acme", "--since", "yesterday")
    assert bad.value.code == 65 and "since takes a date" in capsys.readouterr().err
