"""Sign-in throttling: too many failed sign-ins and further attempts wait, per account and per address.

Counts live in the cache (Redis with ``REDIS_URL``, else the database cache table), so every web
worker sees the same counts. Keys hold digests, never the username or address itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

LOCKED = (
    "Too many failed sign-ins from your address{account}. Wait {minutes} minute(s) and try again; "
    "an admin can reset the password meanwhile."
)


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def client_address(request: HttpRequest) -> str:
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(username: str, address: str) -> tuple[str, str]:
    return _key("account", f"{username.strip().casefold()}|{address}"), _key("address", address)


def login_blocked(username: str, address: str) -> str | None:
    """The message to show when this account (from this address) or this address must wait."""
    account, by_address = _keys(username, address)
    minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
    if (cache.get(account) or 0) >= settings.LOGIN_FAILURE_LIMIT:
        return LOCKED.format(account=" for this account", minutes=minutes)
    if (cache.get(by_address) or 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return LOCKED.format(account="", minutes=minutes)
    return None


def login_failed(username: str, address: str) -> None:
    for key in _keys(username, address):
        if not cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def login_succeeded(username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])


def throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wraps a login view (ours or the admin's): refuses while locked, counts failures.

    A POST answered with the form again (200) is a failed sign-in; a redirect is a success.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username, address = str(request.POST.get("username", "")), client_address(request)
        message = login_blocked(username, address)
        if message:
            return render(request, "registration/login_throttled.html", {"message": message}, status=429)
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            login_failed(username, address)
        elif response.status_code in (301, 302, 303):
            login_succeeded(username, address)
        return response

    return wrapper
