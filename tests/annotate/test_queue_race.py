"""Two annotators racing for the last task never both get it (real concurrent PostgreSQL connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from annotate.models import Assignment, LabelingPolicy, Membership, Role
from annotate.services import queue
from annotate.services.sops import sop_bootstrap
from tests.annotate.conftest import GOOD, make_tasks
from tests.factories import ProjectFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 15
RACERS = 4


def test_racers_for_the_last_slot_get_it_exactly_once_per_round():
    project = ProjectFactory()
    lead = UserFactory()
    Membership.objects.create(user=lead, project=project, role=Role.LEAD)
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    for round_ in range(ROUNDS):
        make_tasks(project, 1)
        users = [UserFactory(username=f"r{round_}-{i}") for i in range(RACERS)]
        barrier = threading.Barrier(RACERS)
        won: list[int] = []
        errors: list[BaseException] = []

        def race(user, barrier=barrier, won=won, errors=errors) -> None:
            try:
                barrier.wait()
                lease = queue.next_task(project=project, user=user)
                if lease is not None:
                    won.append(lease.task_id)
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()  # each thread had its own connection

        threads = [threading.Thread(target=race, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert len(won) == 1, f"round {round_}: {len(won)} annotators got the single slot"
    assert Assignment.objects.count() == ROUNDS


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_a_lease_alone_commits_without_waiting_for_the_disk_a_label_waits():
    project = ProjectFactory()
    lead, annotator = UserFactory(), UserFactory()
    Membership.objects.create(user=lead, project=project, role=Role.LEAD)
    Membership.objects.create(user=annotator, project=project, role=Role.ANNOTATOR)
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    make_tasks(project, 2)
    assert _setting("synchronous_commit") == "on"
    with transaction.atomic():  # hold the lease's transaction open to look inside it
        lease = queue.next_task(project=project, user=annotator)
        assert lease is not None and _setting("synchronous_commit") == "off"
    assert _setting("synchronous_commit") == "on"  # for that transaction only
    lease.task.refresh_from_db()
    assert lease.task.leased_count == 1  # the lease and its count are one commit
    with transaction.atomic():
        queue.submit(assignment_id=lease.pk, user=annotator, values=GOOD)
        assert _setting("synchronous_commit") == "on"  # a label is committed durably
