"""Oversized and pathological requests: refused with 400/413/414 and a clear message, never a 500,
and nothing written. The limits are settings (``flywheel/settings.py``, ``flywheel/limits.py``)."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token

from annotate.models import Annotation, Assignment
from flywheel.api.parsers import MAX_DEPTH
from tests.annotate.conftest import GOOD, leased_project

pytestmark = pytest.mark.django_db
TEN_MB = 10 * 1024 * 1024


@pytest.fixture
def site(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return leased_project()


def token_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def nothing_written(lease) -> bool:
    lease.refresh_from_db()
    return Annotation.objects.count() == 0 and lease.status == Assignment.Status.LEASED


def test_the_limits_are_set_deliberately():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 5 * 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == 5 * 1024 * 1024
    assert settings.MAX_UPLOAD_BYTES > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert "flywheel.limits.RequestLimits" in settings.MIDDLEWARE


def test_a_label_with_a_10_mb_text_field_is_refused_with_413_and_nothing_is_written(site):
    _, _, annotator, lease = site
    body = json.dumps({"values": {**GOOD, "corrected_output": "x" * TEN_MB}})
    response = token_client(annotator).post(
        f"/api/assignments/{lease.pk}/submit/", body, content_type="application/json"
    )
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert f"{len(body):,} bytes" in detail and "at most 5,242,880 bytes" in detail
    assert nothing_written(lease)


def test_a_label_under_the_byte_limit_but_over_the_fields_length_is_a_400_naming_the_field(site):
    _, _, annotator, lease = site
    body = {"values": {**GOOD, "corrected_output": "x" * 1_000_000}}
    response = token_client(annotator).post(
        f"/api/assignments/{lease.pk}/submit/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "corrected_output" in response.json()["errors"]
    assert nothing_written(lease)


def test_the_labeling_form_with_a_10_mb_field_is_refused_with_413(site):
    project, _, annotator, lease = site
    client = Client()
    client.force_login(annotator)
    form = {f"f_{k}": v for k, v in GOOD.items()} | {"f_corrected_output": "x" * TEN_MB}
    response = client.post(f"/projects/{project.pk}/label/{lease.pk}/", form)
    assert response.status_code == 413
    assert "Send less at a time" in response.content.decode()
    assert nothing_written(lease)


@pytest.mark.parametrize("depth", [10_000, MAX_DEPTH + 1])
def test_a_json_body_nested_too_deep_is_a_400_that_says_so(site, depth):
    _, _, annotator, lease = site
    nested = "[" * depth + "]" * depth
    body = '{"values": {"verdict": "bad", "notes": ' + nested + "}}"
    response = token_client(annotator).post(
        f"/api/assignments/{lease.pk}/submit/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert f"nested more than {MAX_DEPTH} levels" in response.json()["detail"]
    assert nothing_written(lease)


def test_a_json_body_at_the_depth_limit_is_read(site):
    _, _, annotator, lease = site
    nested = "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3)  # values -> notes -> the lists
    body = '{"values": {"verdict": "bad", "notes": ' + nested + "}}"
    response = token_client(annotator).post(
        f"/api/assignments/{lease.pk}/submit/", body, content_type="application/json"
    )
    assert response.status_code == 400  # read, then refused by the schema: notes is text
    assert "notes" in response.json()["errors"]


def test_an_annotations_import_body_over_the_limit_is_refused_with_413_and_nothing_is_written(site):
    project, lead, _, lease = site
    body = "trace_id,annotator,sop_version,values.verdict\n" + "t,ann,1,bad\n" * (TEN_MB // 12)
    response = token_client(lead).post(
        f"/api/projects/{project.pk}/annotations/import", body, content_type="text/csv"
    )
    assert response.status_code == 413
    assert "multipart upload" in response.json()["detail"]
    assert nothing_written(lease)


def test_an_annotations_upload_over_the_upload_limit_is_refused_with_413(site, settings):
    project, lead, _, lease = site
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    upload = io.BytesIO(b"trace_id,annotator,sop_version\n" + b"t,ann,1\n" * 200_000)
    upload.name = "annotations.csv"
    response = token_client(lead).post(f"/api/projects/{project.pk}/annotations/import", {"file": upload})
    assert response.status_code == 413
    assert "The upload is" in response.json()["detail"]
    assert nothing_written(lease)


def test_an_annotations_import_nested_too_deep_is_a_400_and_nothing_is_written(site):
    project, lead, _, lease = site
    body = '[{"values": ' + "[" * 10_000 + "]" * 10_000 + "}]"
    response = token_client(lead).post(
        f"/api/projects/{project.pk}/annotations/import?format=json", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested hundreds of levels deep" in response.json()["detail"]
    assert nothing_written(lease)


@pytest.mark.parametrize("path", ["/api/projects/{p}/traces/", "/projects/{p}/traces/"])
def test_a_huge_query_string_is_refused_with_414(site, path):
    project, lead, _, _ = site
    client = Client()
    client.force_login(lead)
    response = client.get(path.format(p=project.pk) + "?q=" + "a" * 100_000)
    assert response.status_code == 414
    assert "at most 8,192" in response.content.decode()


def test_a_content_length_that_is_not_a_number_is_a_400(site):
    _, _, annotator, lease = site
    response = token_client(annotator).post(
        f"/api/assignments/{lease.pk}/submit/", "{}", content_type="application/json", CONTENT_LENGTH="lots"
    )
    assert response.status_code == 400
    assert nothing_written(lease)


def test_a_form_with_too_many_fields_is_a_400_not_a_500(site):
    project, _, annotator, lease = site
    client = Client(raise_request_exception=False)
    client.force_login(annotator)
    form = {f"f_{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post(f"/projects/{project.pk}/label/{lease.pk}/", form)
    assert response.status_code == 400
    assert nothing_written(lease)


@pytest.mark.parametrize("seconds", ["soon", "inf", "nan", "-5", "1e400"])
def test_a_labeling_form_with_a_timer_value_that_is_not_a_number_still_submits(site, seconds):
    project, _, annotator, lease = site
    client = Client(raise_request_exception=False)
    client.force_login(annotator)
    form = {f"f_{k}": v for k, v in GOOD.items()} | {"seconds_spent": seconds}
    response = client.post(f"/projects/{project.pk}/label/{lease.pk}/", form)
    assert response.status_code == 302
    assert 0 <= Annotation.objects.get().seconds_spent < 60  # unknown: the service times the lease itself


def test_a_bulk_accept_form_with_a_count_that_is_not_a_number_is_refused_with_a_message(site):
    project, lead, _, _ = site
    client = Client(raise_request_exception=False)
    client.force_login(lead)
    response = client.post(
        f"/projects/{project.pk}/review/bulk-accept/", {"bucket": "1", "expected": "many", "confirm": "yes"}
    )
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Choose the bucket of single-annotated items to accept."]
