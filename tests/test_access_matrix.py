"""Who may do what, for every URL the service routes: one role x endpoint x method table.

The rows come from the URL configuration (``get_resolver()``): a new pattern without a row fails
the first test, a row whose methods differ from what the view accepts fails the second. Each cell
runs on the same world (every URL parameter names a real object) inside a transaction that is
rolled back, so a lead's accept does not change what the admin meets after them.

Rules the table follows: anonymous callers are sent to the login page (pages, 302) or refused
(API, 403); people outside the project get 404 (they must not learn which projects exist); a
member whose role is too low gets 404 on pages and 403 on the API. The Django admin is staff-only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN
from tests.annotate.conftest import GOOD
from tests.hostile_world import FAST_HASHERS, RECIPE, WHO, World, build_world, use_fast_fakes

pytestmark = pytest.mark.django_db
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Reachable without signing in; the rest of the table shows what a signed-in caller gets there.
PUBLIC = {"healthz", "login", "logout"}
# Served outside the URL configuration, and public too: static files (WhiteNoise, /static/ prefix).
PUBLIC_PREFIXES = ("/static/",)

# "<url name> <METHOD>": anonymous, annotator of another project, annotator, lead, admin
MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    # --- public ---
    "healthz GET": (200, 200, 200, 200, 200),
    "login GET": (200, 200, 200, 200, 200),
    "login POST": (200, 200, 200, 200, 200),  # wrong password: the form again, with the error
    "login PUT": (200, 200, 200, 200, 200),  # Django's LoginView treats PUT as POST (no form data)
    "logout POST": (302, 302, 302, 302, 302),
    # --- pages for everyone signed in ---
    "home GET": (302, 200, 200, 200, 200),
    "api-docs GET": (403, 200, 200, 200, 200),
    "api-schema GET": (403, 200, 200, 200, 200),
    # --- pages for members ---
    "trace-list GET": (302, 404, 200, 200, 200),
    "trace-detail GET": (302, 404, 200, 200, 200),
    "label-home GET": (302, 404, 302, 200, 200),  # the annotator holds a lease: sent to it
    "label-next POST": (302, 404, 302, 302, 302),
    "label-item GET": (302, 404, 200, 404, 404),  # the lease is the annotator's own
    "label-item POST": (302, 404, 302, 404, 404),  # submitted, on to the next task
    "sop GET": (302, 404, 200, 200, 200),
    "sop POST": (302, 404, 404, 302, 302),  # saving a draft is the leads'
    # --- pages for leads ---
    "sync-runs GET": (302, 404, 404, 200, 200),
    "clusters GET": (302, 404, 404, 200, 200),
    "cluster-noise GET": (302, 404, 404, 200, 200),
    "cluster-detail GET": (302, 404, 404, 200, 200),
    "sop-diff GET": (302, 404, 404, 200, 200),
    "tasks-create POST": (302, 404, 404, 302, 302),
    "review-queue GET": (302, 404, 404, 200, 200),
    "review-bulk-accept POST": (302, 404, 404, 302, 302),
    "review-outdated GET": (302, 404, 404, 200, 200),
    "review-outdated POST": (302, 404, 404, 302, 302),
    "review-item GET": (302, 404, 404, 200, 200),
    "review-item POST": (302, 404, 404, 302, 302),
    "agreement GET": (302, 404, 404, 200, 200),
    "augment GET": (302, 404, 404, 200, 200),
    "augment POST": (302, 404, 404, 302, 302),
    "augment-run GET": (302, 404, 404, 200, 200),
    "augment-bulk-accept POST": (302, 404, 404, 302, 302),
    "augment-decide POST": (302, 404, 404, 302, 302),
    "releases GET": (302, 404, 404, 200, 200),
    "release-new GET": (302, 404, 404, 200, 200),
    "release-detail GET": (302, 404, 404, 200, 200),
    "release-download GET": (302, 404, 404, 200, 200),
    "training-runs GET": (302, 404, 404, 200, 200),
    "training-run GET": (302, 404, 404, 200, 200),
    "training-run-file GET": (302, 404, 404, 200, 200),
    "nightly-runs GET": (302, 404, 404, 200, 200),
    "nightly-run GET": (302, 404, 404, 200, 200),
    # --- API for everyone signed in ---
    "api-projects GET": (403, 200, 200, 200, 200),
    # --- API for members ---
    "api-traces GET": (403, 404, 200, 200, 200),
    "api-trace GET": (403, 404, 200, 200, 200),
    "api-rules GET": (403, 404, 200, 200, 200),
    "api-rules POST": (403, 404, 403, 201, 201),
    "api-rule GET": (403, 404, 200, 200, 200),
    "api-rule PUT": (403, 404, 403, 200, 200),
    "api-rule PATCH": (403, 404, 403, 200, 200),
    "api-rule DELETE": (403, 404, 403, 204, 204),
    "api-clusters GET": (403, 404, 200, 200, 200),
    "api-cluster GET": (403, 404, 200, 200, 200),
    "api-cluster PUT": (403, 404, 403, 200, 200),
    "api-cluster PATCH": (403, 404, 403, 200, 200),
    "api-cluster-members GET": (403, 404, 200, 200, 200),
    "api-sops GET": (403, 404, 200, 200, 200),
    "api-sops POST": (403, 404, 403, 201, 201),
    "api-sop GET": (403, 404, 200, 200, 200),
    "api-next-task POST": (403, 404, 200, 204, 204),  # the annotator gets their lease back
    "api-submit POST": (403, 404, 201, 404, 404),  # only the assignment's own annotator
    "api-skip POST": (403, 404, 200, 404, 404),
    # --- API for leads ---
    "api-sync-runs GET": (403, 404, 403, 200, 200),
    "api-sop-publish POST": (403, 404, 403, 200, 200),
    "api-sop-diff GET": (403, 404, 403, 200, 200),
    "api-tasks GET": (403, 404, 403, 200, 200),
    "api-tasks POST": (403, 404, 403, 201, 201),
    "api-review-queue GET": (403, 404, 403, 200, 200),
    "api-review-bulk-accept POST": (403, 404, 403, 200, 200),
    "api-review-outdated GET": (403, 404, 403, 200, 200),
    "api-review-requeue POST": (403, 404, 403, 200, 200),
    "api-review-item GET": (403, 404, 403, 200, 200),
    "api-review-accept POST": (403, 404, 403, 200, 200),
    "api-review-fix POST": (403, 404, 403, 200, 200),
    "api-review-reject POST": (403, 404, 403, 200, 200),
    "api-review-reopen POST": (403, 404, 403, 200, 200),
    "api-review-discard POST": (403, 404, 403, 200, 200),
    "api-samples GET": (403, 404, 403, 200, 200),
    "api-agreement GET": (403, 404, 403, 200, 200),
    "api-agreement-slash GET": (403, 404, 403, 200, 200),
    "api-annotators GET": (403, 404, 403, 200, 200),
    "api-annotations-export GET": (403, 404, 403, 200, 200),
    "api-annotations-import POST": (403, 404, 403, 200, 200),  # 200: every row was already there
    "api-augment-runs GET": (403, 404, 403, 200, 200),
    "api-augment-runs POST": (403, 404, 403, 201, 201),
    "api-augment-run GET": (403, 404, 403, 200, 200),
    "api-augment-progress GET": (403, 404, 403, 200, 200),
    "api-augment-preview GET": (403, 404, 403, 200, 200),
    "api-augment-bulk-accept POST": (403, 404, 403, 400, 400),  # 400: no row decided one by one yet
    "api-proposed GET": (403, 404, 403, 200, 200),
    "api-proposed-accept POST": (403, 404, 403, 200, 200),
    "api-proposed-discard POST": (403, 404, 403, 200, 200),
    "api-releases GET": (403, 404, 403, 200, 200),
    "api-release-preview GET": (403, 404, 403, 200, 200),
    "api-release GET": (403, 404, 403, 200, 200),
    "api-release-download GET": (403, 404, 403, 200, 200),
    "api-training-runs GET": (403, 404, 403, 200, 200),
    "api-training-run GET": (403, 404, 403, 200, 200),
    # --- API for admins ---
    "api-sources GET": (403, 404, 403, 403, 200),
}
# The Django admin: staff only; everyone else is sent to the admin's own sign-in page.
ADMIN_PAGES = (302, 302, 302, 302, 200)
ADMIN_PUBLIC = {"admin:login", "admin:logout", "admin:jsi18n"}
# Admin pages that refuse even an admin: records only the service writes, and a search without a field.
ADMIN_REFUSED = {
    "admin:annotate_reviewaction_add": (302, 302, 302, 302, 403),  # review history is append-only
    "admin:flywheel_release_add": (302, 302, 302, 302, 403),  # releases come from export_release
    "admin:autocomplete": (302, 302, 302, 302, 403),  # 403 without the field to complete
}
# URL parameters that name something other than the world's default for that name.
OVERRIDES: dict[str, dict[str, str]] = {
    "api-review-reopen": {"task_id": "final"},
    "api-review-discard": {"task_id": "final"},
    "release-detail": {"number": "release"},
    "release-download": {"number": "release"},
    "api-release": {"number": "release"},
    "api-release-download": {"number": "release"},
    "training-run": {"run_id": "training_run"},
    "training-run-file": {"run_id": "training_run"},
    "api-training-run": {"run_id": "training_run"},
    "nightly-run": {"run_id": "nightly_run"},
    "api-sop": {"version": "current"},
    "api-proposed-discard": {"sample_id": "second_proposed"},
    "augment-decide": {"sample_id": "proposed"},
}


def _ann(world: World) -> dict[str, Any]:
    return {"annotation": world.pending_annotation.pk}


def _label_form() -> dict[str, Any]:
    return {f"f_{k}": v for k, v in GOOD.items()}


def _import_body(world: World) -> bytes:
    lead = Client()
    lead.force_login(world.users["lead"])
    response = lead.get(reverse("api-annotations-export", args=[world.project.pk]))
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


# "<url name> <METHOD>" -> what a caller with the role sends (forms for pages, JSON for the API).
FORMS: dict[str, Callable[[World], dict[str, Any]]] = {
    "login POST": lambda w: {"username": "nobody", "password": "wrong-password"},
    "label-item POST": lambda w: _label_form(),
    "sop POST": lambda w: {"title": "SOP", "body": DEFAULT_SOP_MARKDOWN, "label_schema": DEFAULT_SCHEMA_YAML},
    "tasks-create POST": lambda w: {"all_new": "on"},
    "review-bulk-accept POST": lambda w: {"bucket": "1", "expected": "1", "confirm": "yes"},
    "review-outdated POST": lambda w: {"scope": "all"},
    "review-item POST": lambda w: {"action": "accept", **_ann(w)},
    "augment POST": lambda w: {"recipe": RECIPE, "round": "2"},
    "augment-bulk-accept POST": lambda w: {"confirm": "on", "expected": str(len(w.proposed))},
    "augment-decide POST": lambda w: {"action": "accept", "run": str(w.augment_run.pk)},
}
JSON_BODIES: dict[str, Callable[[World], Any]] = {
    "api-rules POST": lambda w: {"name": "escalated", "definition": {"tag": "escalated"}},
    "api-rule PUT": lambda w: {"name": "thumbs-down", "definition": {"tag": "thumbs-up"}},
    "api-rule PATCH": lambda w: {"enabled": False},
    "api-cluster PUT": lambda w: {"custom_name": "Late orders"},
    "api-cluster PATCH": lambda w: {"custom_name": "Late orders"},
    "api-sops POST": lambda w: {"body": DEFAULT_SOP_MARKDOWN, "label_schema": DEFAULT_SCHEMA_YAML},
    "api-tasks POST": lambda w: {"all_new": True},
    "api-submit POST": lambda w: {"values": GOOD, "seconds_spent": 4},
    "api-skip POST": lambda w: {"reason": "The trace is cut off."},
    "api-review-accept POST": _ann,
    "api-review-fix POST": lambda w: {"values": GOOD, **_ann(w)},
    "api-review-reject POST": lambda w: {"comment": "Read section 2 again.", **_ann(w)},
    "api-review-reopen POST": lambda w: {"comment": "The SOP changed."},
    "api-review-discard POST": lambda w: {"comment": "A duplicate."},
    "api-augment-runs POST": lambda w: {"recipe": RECIPE, "round": 2},
}


def patterns(
    resolver: URLResolver | None = None, prefix: str = "", ns: str = ""
) -> Iterator[tuple[str, str]]:
    """(qualified url name, route) of every pattern, depth first."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}{p.namespace}:" if p.namespace else ns
            yield from patterns(p, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            yield (
                (f"{ns}{p.name}" if p.name else f"{ns}<unnamed {prefix}{p.pattern}>"),
                prefix + str(p.pattern),
            )


def table_names() -> set[str]:
    return {key.rsplit(" ", 1)[0] for key in MATRIX}


def methods_in_table(name: str) -> set[str]:
    return {key.rsplit(" ", 1)[1] for key in MATRIX if key.rsplit(" ", 1)[0] == name}


def test_every_url_pattern_has_a_row_in_the_matrix():
    routed = {name for name, _ in patterns() if not name.startswith("admin:")}
    assert routed - table_names() == set(), "URL patterns without a row in MATRIX"
    assert table_names() - routed == set(), "rows in MATRIX for URL names that are no longer routed"
    assert routed >= PUBLIC


def test_every_pattern_outside_the_admin_has_a_name_and_no_namespace():
    names = [name for name, _ in patterns() if not name.startswith("admin:")]
    assert [n for n in names if ":" in n or n.startswith("<unnamed")] == []


def test_only_the_public_urls_are_reachable_without_a_login():
    from annotate.middleware import PUBLIC_PREFIXES as MIDDLEWARE_PUBLIC

    public_paths = {"/healthz", "/accounts/login/", "/static/"}
    assert set(MIDDLEWARE_PUBLIC) == public_paths
    assert {reverse(n) for n in PUBLIC} - {"/accounts/logout/"} <= public_paths
    assert PUBLIC_PREFIXES[0] in public_paths


@pytest.fixture
def world(settings, tmp_path, monkeypatch) -> World:
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world(tmp_path, use_fast_fakes(monkeypatch))


def url_for(name: str, route: str, world: World) -> str:
    import re

    ids = world.ids()
    named = {
        "final": world.final.pk,
        "release": world.release.number,
        "training_run": world.training_run.pk,
        "nightly_run": world.nightly_run.pk,
        "current": 2,
        "proposed": world.proposed[0].pk,
        "second_proposed": world.proposed[1].pk,
    }
    ids.update({k: named[v] for k, v in OVERRIDES.get(name, {}).items()})
    params = re.findall(r"<(?:\w+:)?(\w+)>", route)
    return reverse(name, kwargs={p: ids[p] for p in params})


def call(client: Client, method: str, path: str, key: str, world: World) -> int:
    """One request, rolled back afterwards; a server error counts as 500."""
    with transaction.atomic():
        try:
            if key in JSON_BODIES or (path.startswith("/api/") and method != "GET"):
                body = json.dumps(JSON_BODIES[key](world)) if key in JSON_BODIES else "{}"
                content_type = "application/json"
                if key == "api-annotations-import POST":
                    body, content_type = _import_body(world).decode(), "text/csv"
                response = client.generic(method, path, body, content_type=content_type)
            elif method == "GET":
                response = client.get(path)
            else:
                data = FORMS[key](world) if key in FORMS else {}
                response = getattr(client, method.lower())(path, data)
            status = response.status_code
            if getattr(response, "streaming", False):
                # Read to the end: the client closes it then (a file download's handle), with the
                # connection-closing signal off. Closing it here would close the test's connection.
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
        except Exception:  # the table shows it; the traceback is in the captured log
            status = 500
        transaction.set_rollback(True)
    return status


def clients(world: World) -> dict[str, Client]:
    out = {}
    for who in WHO:
        client = Client(raise_request_exception=False)
        if world.users[who] is not None:
            client.force_login(world.users[who])
        out[who] = client
    return out


@pytest.mark.slow
@pytest.mark.also_postgres
def test_every_role_gets_exactly_what_the_matrix_says_on_every_endpoint_and_method(world):
    routes = dict(patterns())
    by_who = clients(world)
    got = {}
    for key in MATRIX:
        name, method = key.rsplit(" ", 1)
        path = url_for(name, routes[name], world)
        if name == "logout":
            by_who = clients(world)  # signing out ends the clients' sessions: sign in again after it
        got[key] = tuple(call(by_who[who], method, path, key, world) for who in WHO)
        if name == "logout":
            by_who = clients(world)
    wrong = {k: {"expected": MATRIX[k], "got": v} for k, v in got.items() if v != MATRIX[k]}
    assert wrong == {}, "cells that differ (anonymous, outsider, annotator, lead, admin)"


@pytest.mark.slow
@pytest.mark.also_postgres
def test_each_endpoint_accepts_exactly_the_methods_its_rows_list(world):
    """Probed as an admin (who passes every role check): a method without a row must get 405."""
    routes = dict(patterns())
    admin = clients(world)["admin"]
    wrong = {}
    for name in sorted(table_names()):
        path = url_for(name, routes[name], world)
        accepted = set()
        for method in METHODS:
            if name == "logout":
                admin = clients(world)["admin"]  # each sign-out ends the session: a fresh one per probe
            if call(admin, method, path, f"{name} {method}", world) != 405:
                accepted.add(method)
        if accepted != methods_in_table(name):
            wrong[name] = {"table": sorted(methods_in_table(name)), "accepted": sorted(accepted)}
    assert wrong == {}


def admin_urls(world: World) -> Iterator[tuple[str, str]]:
    """Every admin page, with the world's first object of the model where the route names one."""
    from django.contrib import admin

    by_prefix = {f"admin:{m._meta.app_label}_{m._meta.model_name}_": m for m in admin.site._registry}
    for name, route in patterns():
        if not name.startswith("admin:") or name in ADMIN_PUBLIC or name.startswith("admin:<unnamed"):
            continue
        if name == "admin:view_on_site" or "<id>" in route:
            continue  # a redirect to the site / the password form: covered by the change page
        if name == "admin:app_list":
            for app in sorted({m._meta.app_label for m in admin.site._registry}):
                yield name, reverse(name, kwargs={"app_label": app})
            continue
        model = next((m for prefix, m in by_prefix.items() if name.startswith(prefix)), None)
        if "object_id" in route:
            obj = model._default_manager.order_by("pk").first() if model else None
            if obj is None:
                continue
            yield name, reverse(name, kwargs={"object_id": obj.pk})
        else:
            yield name, reverse(name)


@pytest.mark.slow
@pytest.mark.also_postgres
def test_every_admin_page_is_for_staff_only(world):
    by_who = clients(world)
    wrong = {}
    seen = 0
    for name, path in admin_urls(world):
        seen += 1
        got = tuple(call(by_who[who], "GET", path, f"{name} GET", world) for who in WHO)
        if got != ADMIN_REFUSED.get(name, ADMIN_PAGES):
            wrong[path] = got
    assert seen > 40 and wrong == {}
