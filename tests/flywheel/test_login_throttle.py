"""Sign-in throttling: failed sign-ins are counted per account and address, in the shared cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/15"}
DATABASE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "flywheel_cache"}


@pytest.fixture(params=["database", "redis"])
def shared_cache(request, settings):
    settings.CACHES = {"default": DATABASE if request.param == "database" else REDIS}
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    cache.clear()
    yield request.param
    cache.clear()


def sign_in(username, password, address="10.0.0.1", path="/accounts/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def test_after_too_many_failures_even_the_right_password_waits(shared_cache):
    UserFactory(username="lead")
    for _ in range(3):
        assert sign_in("lead", "wrong").status_code == 200
    locked = sign_in("lead", "pw-for-tests-1")
    assert locked.status_code == 429
    assert "Too many failed sign-ins from your address for this account" in locked.content.decode()


def test_a_successful_sign_in_resets_the_account_count(shared_cache):
    UserFactory(username="lead")
    for _ in range(2):
        sign_in("lead", "wrong")
    assert sign_in("lead", "pw-for-tests-1").status_code == 302
    for _ in range(2):
        sign_in("lead", "wrong")
    assert sign_in("lead", "pw-for-tests-1").status_code == 302


def test_one_address_guessing_many_accounts_is_stopped_too(shared_cache):
    UserFactory(username="victim")
    for i in range(5):
        sign_in(f"guess{i}", "wrong", address="10.9.9.9")
    assert sign_in("victim", "pw-for-tests-1", address="10.9.9.9").status_code == 429
    assert sign_in("victim", "pw-for-tests-1", address="10.0.0.2").status_code == 302


def test_the_admin_sign_in_is_throttled_the_same_way(shared_cache):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(3):
        sign_in("root", "wrong", path="/admin/login/")
    assert sign_in("root", "pw-for-tests-1", path="/admin/login/").status_code == 429


def test_the_cache_keys_never_hold_the_username_or_address(shared_cache, django_db_blocker):
    sign_in("someone@example.com", "wrong", address="192.0.2.7")
    if shared_cache == "database":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT cache_key FROM flywheel_cache")
            keys = " ".join(row[0] for row in cursor.fetchall())
    else:
        import redis

        keys = " ".join(k.decode() for k in redis.Redis.from_url(REDIS["LOCATION"]).keys("*"))
    assert "login-failures" in keys
    assert "someone" not in keys and "192.0.2.7" not in keys
