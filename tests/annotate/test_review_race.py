"""Two leads deciding the same item at once: one wins, the other gets a Conflict (real PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from annotate.models import LabelingPolicy, ReviewAction, Role, Sample
from annotate.services import review
from annotate.services.sops import sop_bootstrap
from flywheel.errors import Conflict
from tests.annotate.conftest import make_tasks
from tests.annotate.review_helpers import DISAGREE, FAST_HASHERS, label
from tests.factories import ProjectFactory, member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 8


def test_two_leads_deciding_one_item_at_once_make_exactly_one_final_label(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    project = ProjectFactory()
    leads = [member(project, Role.LEAD), member(project, Role.LEAD)]
    sop_bootstrap(project=project, user=leads[0])
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    annotators = [member(project, Role.ANNOTATOR), member(project, Role.ANNOTATOR)]
    for round_ in range(ROUNDS):
        (task,) = make_tasks(project, 1, required=2)
        votes = [label(project, annotators[0]), label(project, annotators[1], DISAGREE)]
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def decide(lead, vote, barrier=barrier, outcomes=outcomes, task=task) -> None:
            try:
                barrier.wait()
                review.review_accept(project=project, task_id=task.pk, annotation_id=vote.pk, reviewer=lead)
                outcomes.append("won")
            except Conflict:
                outcomes.append("conflict")
            except BaseException as exc:  # surfaced below
                outcomes.append(repr(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=decide, args=pair) for pair in zip(leads, votes, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["conflict", "won"], f"round {round_}: {outcomes}"
        assert Sample.objects.filter(task=task).count() == 1
        assert ReviewAction.objects.filter(task=task).count() == 1
