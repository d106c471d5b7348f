"""Next-task and submit stay a fixed, small number of queries, however long the queue is."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.annotate.conftest import GOOD, make_tasks

pytestmark = pytest.mark.django_db


def test_next_task_and_submit_cost_a_fixed_number_of_queries(labeling, django_assert_max_num_queries):
    project, _, ann1, _ = labeling
    make_tasks(project, 30)
    client = Client()
    client.force_login(ann1)
    for _ in range(2):  # the second round proves the count does not grow with history
        with django_assert_max_num_queries(11):
            lease = client.post(f"/api/projects/{project.pk}/next-task/").json()
        with django_assert_max_num_queries(11):
            response = client.post(
                f"/api/assignments/{lease['assignment']}/submit/",
                {"values": GOOD},
                content_type="application/json",
            )
        assert response.status_code == 201
