"""Release pages and API: who may see what, the manifest rendered, the archive, the preview form."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from django.test import Client

from annotate.models import Role
from flywheel.cluster.embedding import HashingEmbedder
from flywheel.pii import FakeScrubber
from flywheel.services.export import release_publish
from tests.factories import ProjectFactory, UserFactory, member
from tests.flywheel.export.seed import export_project, seed_samples

pytestmark = pytest.mark.django_db
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ENDPOINTS = {
    "page releases": "/projects/{p}/releases/",
    "page release": "/projects/{p}/releases/1/",
    "page download": "/projects/{p}/releases/1/download/",
    "page new release": "/projects/{p}/releases/new/?preview=1",
    "api releases": "/api/projects/{p}/releases/",
    "api release": "/api/projects/{p}/releases/1/",
    "api download": "/api/projects/{p}/releases/1/download/",
    "api preview": "/api/projects/{p}/releases/preview/",
}
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")
#                       anonymous, annotator of another project, annotator, lead, admin
MATRIX = {
    "page releases": (302, 404, 404, 200, 200),
    "page release": (302, 404, 404, 200, 200),
    "page download": (302, 404, 404, 200, 200),
    "page new release": (302, 404, 404, 200, 200),
    "api releases": (403, 404, 403, 200, 200),
    "api release": (403, 404, 403, 200, 200),
    "api download": (403, 404, 403, 200, 200),
    "api preview": (403, 404, 403, 200, 200),
}


@pytest.fixture
def world(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = FAST_HASHER  # test users log in with force_login
    project, lead = export_project("acme", min_samples=30)
    seed_samples(project, 40)
    release = release_publish(
        project=project, user=lead, scrubber=FakeScrubber(key=b"k"), embedder=HashingEmbedder(256)
    ).release
    users = {
        "anonymous": None,
        "outsider": member(ProjectFactory(), Role.ANNOTATOR),
        "annotator": member(project, Role.ANNOTATOR),
        "lead": lead,
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    return project, release, users


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_role_gets_exactly_the_access_the_matrix_says(world, endpoint):
    project, _, users = world
    got = tuple(
        client_for(users[who]).get(ENDPOINTS[endpoint].format(p=project.pk)).status_code for who in WHO
    )
    assert got == MATRIX[endpoint], f"{endpoint}: {dict(zip(WHO, got, strict=True))}"


def test_the_list_shows_each_release_with_its_counts_and_warnings(world):
    project, release, users = world
    html = client_for(users["lead"]).get(f"/projects/{project.pk}/releases/").content.decode()
    assert ">acme-v1</a>" in html and f"<td>{release.sample_count}</td>" in html
    assert (
        f"{release.counts['sft']['train']} / {release.counts['sft']['val']} / {release.counts['sft']['test']}"
        in html
    )
    assert str(len(release.warnings)) in html


def test_the_release_page_renders_the_manifest_readably_and_the_data_card(
    world, django_assert_max_num_queries
):
    project, release, users = world
    client = client_for(users["lead"])
    with django_assert_max_num_queries(10):
        html = client.get(f"/projects/{project.pk}/releases/1/").content.decode()
    m = release.manifest
    assert "Sample-type mix" in html and "mixbar" in html
    for name in m["mix"]["types"]:
        assert f"<td>{name}{' ⚠' if name in m['mix']['off'] else ''}</td>" in html, name
    for name, entry in m["files"].items():
        assert name in html and entry["sha256"] in html
    assert release.manifest_sha256 in html and "Data card" in html and "# acme-v1" in html
    assert "Leak check: 0 overlaps" in html and "PII gate:" in html
    assert "Krippendorff" in html or "No agreement statistics" in html


def test_a_second_release_page_shows_what_changed(world):
    project, _, users = world
    seed_samples(project, 10, start=40)
    release_publish(
        project=project, user=users["lead"], scrubber=FakeScrubber(key=b"k"), embedder=HashingEmbedder(256)
    )
    html = client_for(users["lead"]).get(f"/projects/{project.pk}/releases/2/").content.decode()
    assert "Changes since acme-v1" in html and "diff.jsonl" in html and "lf:trace-00040" in html


def test_the_download_streams_a_tar_gz_of_the_release(world):
    project, _, users = world
    for path in (
        f"/projects/{project.pk}/releases/1/download/",
        f"/api/projects/{project.pk}/releases/1/download/",
    ):
        response = client_for(users["lead"]).get(path)
        assert response.streaming and response["Content-Type"] == "application/gzip"
        assert response["Content-Disposition"] == 'attachment; filename="acme-v1.tar.gz"'
        with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:gz") as tar:
            manifest = json.loads(tar.extractfile("acme-v1/manifest.json").read())
            assert set(tar.getnames()) == {
                "acme-v1/manifest.json",
                *(f"acme-v1/{n}" for n in manifest["files"]),
            }
        assert manifest["release_id"] == "acme-v1"


def test_a_download_is_refused_when_the_files_are_gone_or_changed(world):
    project, release, users = world
    client = client_for(users["lead"])
    manifest = Path(release.path) / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"acme-v1"', '"acme-v9"', 1))
    changed = client.get(f"/projects/{project.pk}/releases/1/download/")
    assert changed.status_code == 409 and "changed on disk" in changed.content.decode()
    manifest.unlink()
    assert client.get(f"/api/projects/{project.pk}/releases/1/download/").status_code == 410
    page = client.get(f"/projects/{project.pk}/releases/1/").content.decode()
    assert "gone from disk" in page


def test_the_api_lists_releases_and_gives_one_with_its_manifest(world):
    project, release, users = world
    client = client_for(users["lead"])
    listed = client.get(f"/api/projects/{project.pk}/releases/").json()
    assert listed["count"] == 1 and listed["results"][0]["release_id"] == "acme-v1"
    assert (
        "manifest" not in listed["results"][0]
        and listed["results"][0]["created_by"] == users["lead"].username
    )
    detail = client.get(f"/api/projects/{project.pk}/releases/1/").json()
    assert (
        detail["manifest"]["release_id"] == "acme-v1" and detail["manifest_sha256"] == release.manifest_sha256
    )
    missing = client.get(f"/api/projects/{project.pk}/releases/7/")
    assert missing.status_code == 404 and missing.json()["detail"] == "Project 'acme' has no release v7."


def test_the_preview_counts_what_a_query_selects_and_gives_the_command(world):
    project, _, users = world
    client = client_for(users["lead"])
    html = client.get(
        f"/projects/{project.pk}/releases/new/?preview=1&clusters=C1&sample_types=negative,golden"
    ).content.decode()
    assert "Preview of acme-v2" in html
    assert (
        "python manage.py export_release --project acme --clusters C1 --sample-types negative,golden" in html
    )
    assert "fewer than the minimum of 30" in html and "--dry-run" in html
    api = client.get(f"/api/projects/{project.pk}/releases/preview/", {"sop_versions": "1"}).json()
    assert api["next_release"] == "acme-v2" and api["query"]["sop_versions"] == [1]
    assert api["matched"] == sum(api["by"]["sample_type"].values()) and api["matched"] > 0


def test_a_bad_value_in_the_preview_form_says_what_is_expected(world):
    project, _, users = world
    client = client_for(users["lead"])
    html = client.get(f"/projects/{project.pk}/releases/new/?preview=1&since=last+week").content.decode()
    assert "since takes a date (2026-11-01)" in html
    api = client.get(f"/api/projects/{project.pk}/releases/preview/", {"clusters": "twelve"})
    assert api.status_code == 400 and "Clusters are named like C12" in api.json()["detail"]
