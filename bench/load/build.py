"""Builds the load-test database: 1M traces, failures, clusters, 200k tasks, 100k annotations.

    .venv/bin/python -m bench.load.build                 # builds flywheel_load, or says it is built
    .venv/bin/python -m bench.load.build --rebuild       # drops it and builds again
    .venv/bin/python -m bench.load.build --traces 100000 --database-url postgres://.../flywheel_small

One project ``load``: traces spread over the last 30 days, one GENERATION observation each, every
fourth trace a failure (thumbs-down score, 85% in one of 60 clusters, the rest noise), labeling
tasks on the oldest failures, a published SOP, 50 annotators and 2 leads with API tokens. About
half the tasks are labeled: accepted single labels and consensus pairs (final samples with their
review history), single labels and disagreements waiting in the review queue. Bulk tables go in
with ``COPY``; the small ones through the ORM. The tokens are written to ``var/load/users.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_URL = f"{SERVER}/flywheel_load"
USERS_FILE = ROOT / "var" / "load" / "users.json"
PASSWORD = "load-test-password"  # noqa: S105 - bench users on a local throwaway database
DONE_MARK = "load-build complete"


def database_setup(url: str, *, rebuild: bool) -> bool:
    """Creates the database when missing (drops it first on rebuild). True when it already holds a build."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not rebuild:
            with psycopg.connect(url) as db:
                table = db.execute("SELECT to_regclass('flywheel_project')").fetchone()
                done = (
                    table
                    and table[0]
                    and db.execute(
                        "SELECT 1 FROM flywheel_project WHERE name = 'load' AND description LIKE %s",
                        (f"{DONE_MARK}%",),
                    ).fetchone()
                )
            if done:
                return True
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return False


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "load-build-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    import django

    django.setup()


def write_users_file() -> dict[str, Any]:
    from rest_framework.authtoken.models import Token

    from annotate.models import Membership
    from flywheel.models import Project

    project = Project.objects.get(name="load")
    tokens = dict(Token.objects.values_list("user__username", "key"))
    roles = Membership.objects.filter(project=project).values_list("user__username", "role")
    data = {
        "project": project.pk,
        "password": PASSWORD,
        "annotators": {u: tokens[u] for u, r in roles if r == "annotator"},
        "leads": {u: tokens[u] for u, r in roles if r == "lead"},
        "build": json.loads(project.description.removeprefix(DONE_MARK).strip() or "{}"),
    }
    USERS_FILE.parent.mkdir(parents=True, exist_ok=True)
    USERS_FILE.write_text(json.dumps(data, indent=1))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=200_000, help="labeling tasks (at most traces / 4)")
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="drop the database and build it again")
    args = parser.parse_args(argv)
    if args.tasks > args.traces // 4 - 300:
        parser.error("--tasks must leave room: at most traces / 4 - 300 (every fourth trace is a failure)")
    built = database_setup(args.database_url, rebuild=args.rebuild)
    django_setup(args.database_url)
    if built:
        data = write_users_file()
        print(f"already built ({data['build']}); --rebuild to build again. Users: {USERS_FILE}")
        return 0
    from django.core.management import call_command

    from bench.load.fill import fill

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    counts = fill(traces=args.traces, tasks=args.tasks, annotators=args.annotators, seed=args.seed)
    from flywheel.models import Project

    Project.objects.filter(name="load").update(description=f"{DONE_MARK} {json.dumps(counts)}")
    write_users_file()
    print(f"built in {time.perf_counter() - start:.0f}s: {counts}. Users: {USERS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
