"""Paths from a command line, a URL or a stored record never read or write outside what they may.

A command's paths are the operator's (``../x`` or ``/abs/x`` is their choice on their machine);
what is refused, with the path named and exit 65 (bad input) or 66 (not found), is a NUL byte, the
wrong kind of file, and a link out of a directory the service reads as a whole (a run directory,
a release). Over HTTP a name comes from a fixed list and must resolve inside its directory:
anything else is a 404, and a release with a file linking out is not served (409).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from annotate.models import Role
from flywheel.models import Release, Trace, TrainingRun
from tests.factories import ProjectFactory, member

pytestmark = pytest.mark.django_db
SECRET = "outside-the-directory: root:x:0:0"


def run(*args: str) -> tuple[int, str]:
    """A command's exit code and its stderr."""
    err = io.StringIO()
    try:
        call_command(*args, stdout=io.StringIO(), stderr=err)
    except SystemExit as exit:
        return int(exit.code or 0), err.getvalue()
    return 0, err.getvalue()


@pytest.fixture
def project(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return ProjectFactory(name="acme")


@pytest.fixture
def outside(tmp_path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


# --- import_traces ------------------------------------------------------------------------------


def test_import_traces_refuses_a_path_with_a_nul_byte_naming_it(project, tmp_path):
    code, err = run("import_traces", str(tmp_path / "traces.jsonl\0.png"), "--project", "acme")
    assert code == 65
    assert "contains a NUL byte" in err and "traces.jsonl\\x00.png" in err
    assert not Trace.objects.exists()


def test_import_traces_says_which_path_is_missing(project, tmp_path):
    missing = tmp_path / ".." / "nowhere" / "traces.jsonl"
    code, err = run("import_traces", str(missing), "--project", "acme")
    assert code == 66 and str(missing) in err


@pytest.mark.parametrize("target", ["directory", "/dev/zero"])
def test_import_traces_reads_only_regular_files(project, tmp_path, target):
    path = str(tmp_path) if target == "directory" else target
    code, err = run("import_traces", path, "--project", "acme")
    assert code == 65 and f"{path} is not a regular file" in err


# --- export_release --out ----------------------------------------------------------------------------


def test_export_release_refuses_an_out_path_with_a_nul_byte(project, tmp_path):
    code, err = run("export_release", "--project", "acme", "--out", f"{tmp_path}/rel\0")
    assert code == 65 and "contains a NUL byte" in err
    assert not Release.objects.exists()


def test_export_release_refuses_an_out_path_that_is_a_file(project, outside):
    code, err = run("export_release", "--project", "acme", "--out", str(outside))
    assert code == 65 and f"{outside} exists and is not a directory" in err
    assert outside.read_text() == SECRET


# --- annotations export --out / import FILE ----------------------------------------------------------


def test_annotations_export_refuses_an_out_path_with_a_nul_byte(project, tmp_path):
    code, err = run("annotations", "export", "--project", "acme", "--out", f"{tmp_path}/a.csv\0../x")
    assert code == 65 and "contains a NUL byte" in err
    assert list(tmp_path.iterdir()) == []


def test_annotations_export_refuses_a_directory_as_its_out_file(project, tmp_path):
    code, err = run("annotations", "export", "--project", "acme", "--out", str(tmp_path))
    assert code == 65 and f"{tmp_path} is a directory" in err


def test_annotations_export_names_a_missing_out_directory(project, tmp_path):
    out = tmp_path / ".." / "no-such-dir" / "a.csv"
    code, err = run("annotations", "export", "--project", "acme", "--out", str(out))
    assert code == 66 and str(out.parent) in err


def test_annotations_export_replaces_a_symlink_at_its_out_path_instead_of_writing_through_it(
    project, tmp_path, outside
):
    link = tmp_path / "a.csv"
    link.symlink_to(outside)
    code, _ = run("annotations", "export", "--project", "acme", "--out", str(link))
    assert code == 0
    assert not link.is_symlink() and link.read_text().startswith("task,trace_id,")
    assert outside.read_text() == SECRET


def test_annotations_import_refuses_a_file_name_with_a_nul_byte(project, tmp_path):
    code, err = run("annotations", "import", "--project", "acme", f"{tmp_path}/a.csv\0")
    assert code == 65 and "contains a NUL byte" in err


# --- register_training_run DIR ----------------------------------------------------------------------


def run_dir(root: Path) -> Path:
    from tests.flywheel.training_run_factory import write_run_dir
    from tests.training.release_factory import write_release

    release = write_release(root / "release")
    return write_run_dir(root / "run", release)


def test_register_training_run_refuses_a_directory_name_with_a_nul_byte(project, tmp_path):
    code, err = run("register_training_run", f"{tmp_path}/run\0")
    assert code == 65 and "contains a NUL byte" in err
    assert not TrainingRun.objects.exists()


def test_register_training_run_names_a_missing_directory(project, tmp_path):
    missing = tmp_path / ".." / "gone"
    code, err = run("register_training_run", str(missing))
    assert code == 66 and f"{missing.resolve()} is not a directory" in err


@pytest.mark.parametrize("name", ["metrics.json", "run_manifest.json", "progress.json"])
def test_register_training_run_refuses_a_run_file_that_links_out_of_the_directory(
    project, tmp_path, outside, name
):
    root = run_dir(tmp_path)
    foreign = outside.with_name(name)
    (root / name).rename(foreign)  # the real file now lives outside; a link points at it
    (root / name).symlink_to(foreign)
    code, err = run("register_training_run", str(root), "--project", "acme")
    assert code == 65
    assert f"{root / name} is a symbolic link out of {root}" in err
    assert not TrainingRun.objects.exists()


# --- the training run file endpoint ---------------------------------------------------------------


@pytest.fixture
def lead_client(project) -> Client:
    client = Client()
    client.force_login(member(project, Role.LEAD))
    return client


@pytest.fixture
def training_run(project, tmp_path, outside) -> TrainingRun:
    root = tmp_path / "run"
    root.mkdir()
    (root / "metrics.json").write_text('{"promoted": false}')
    (root / "report.md").symlink_to(outside)  # a link out of the run directory
    return TrainingRun.objects.create(project=project, run_dir=str(root), method="sft", release_name="r")


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "..%2F..%2Foutside%2Fsecret.txt",
        "%2E%2E%2Foutside%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "metrics.json%00",
        "metrics.json%00.png",
        "report.md",  # a run file name, but a link out of the directory
        "config.yaml",  # a run file name the directory does not hold
        "secret.txt",
    ],
)
def test_the_run_file_endpoint_serves_nothing_outside_the_run_directory(
    project, lead_client, training_run, name
):
    response = lead_client.get(f"/projects/{project.pk}/training-runs/{training_run.pk}/files/{name}")
    assert response.status_code == 404
    assert SECRET not in response.content.decode(errors="replace")


def test_the_run_file_endpoint_serves_a_run_file_inside_the_directory(project, lead_client, training_run):
    response = lead_client.get(f"/projects/{project.pk}/training-runs/{training_run.pk}/files/metrics.json")
    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content)) == {"promoted": False}


# --- release download --------------------------------------------------------------------------------


def release_at(project, root: Path, files: dict[str, str]) -> Release:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"files": {name: {"sha256": ""} for name in files}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    sha = hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    return Release.objects.create(
        project=project, number=1, release_id="acme-v1", path=str(root), manifest_sha256=sha
    )


@pytest.mark.parametrize(
    "url", ["/projects/{p}/releases/1/download/", "/api/projects/{p}/releases/1/download/"]
)
def test_a_release_with_a_file_that_links_out_of_its_directory_is_not_served(
    project, lead_client, tmp_path, outside, url
):
    root = tmp_path / "release"
    release_at(project, root, {"sft/train.jsonl": ""})
    (root / "sft").mkdir()
    (root / "sft" / "train.jsonl").symlink_to(outside)
    response = lead_client.get(url.format(p=project.pk))
    assert response.status_code == 409
    assert "link out of the release directory" in response.content.decode()


def test_a_release_whose_manifest_names_a_path_outside_its_directory_is_not_served(
    project, lead_client, tmp_path, outside
):
    root = tmp_path / "release"
    release_at(project, root, {"../outside/secret.txt": ""})
    response = lead_client.get(f"/projects/{project.pk}/releases/1/download/")
    assert response.status_code == 409
    assert SECRET not in response.content.decode()


def test_a_release_whose_files_are_inside_its_directory_is_served(project, lead_client, tmp_path):
    root = tmp_path / "release"
    release_at(project, root, {"sft/train.jsonl": ""})
    (root / "sft").mkdir()
    (root / "sft" / "train.jsonl").write_text('{"messages": []}\n')
    response = lead_client.get(f"/projects/{project.pk}/releases/1/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
