"""The cluster pages a lead reads: sorting, rule filter, the unclustered bucket, trend and map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.test import Client

from annotate.models import Role
from flywheel.models import Cluster, Failure
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, member

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def unit(seed: int) -> bytes:
    v = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    return (v / np.linalg.norm(v)).tobytes()


@pytest.fixture
def page():
    project = ProjectFactory(name="shop")
    source = SourceFactory(project=project)
    big = Cluster.objects.create(
        project=project,
        number=1,
        name="late · parcel",
        centroid=unit(1),
        rule_counts={"thumbs-down": 6},
        occurrences=6,
        size=6,
        is_new=False,
    )
    growing = Cluster.objects.create(
        project=project,
        number=2,
        name="refund · refused",
        centroid=unit(2),
        rule_counts={"errored": 3},
        occurrences=3,
        size=3,
    )
    n = 0
    for cluster, ages in ((big, [20, 19, 18, 17, 16, 1]), (growing, [1, 1, 0]), (None, [2])):
        for age in ages:
            trace = TraceFactory(source=source, external_id=f"t{n}", timestamp=NOW - timedelta(days=age))
            Failure.objects.create(
                project=project,
                trace=trace,
                rules=list(cluster.rule_counts if cluster else {"x": 1}),
                cluster=cluster,
                is_noise=cluster is None,
                embed_text=f"text {n}",
            )
            n += 1
    client = Client()
    client.force_login(member(project, Role.LEAD))
    return project, client


def test_clusters_sort_by_size_or_growth_and_filter_by_rule(page, django_assert_max_num_queries):
    project, client = page
    with django_assert_max_num_queries(12):
        by_size = client.get(f"/projects/{project.pk}/clusters/").content.decode()
    assert by_size.index(">late · parcel</a>") < by_size.index(">refund · refused</a>")
    by_growth = client.get(f"/projects/{project.pk}/clusters/?sort=growth").content.decode()
    assert by_growth.index(">refund · refused</a>") < by_growth.index(">late · parcel</a>")
    only_errored = client.get(f"/projects/{project.pk}/clusters/?rule=errored").content.decode()
    assert ">refund · refused</a>" in only_errored and ">late · parcel</a>" not in only_errored
    assert "unclustered" in by_size and "<svg" in by_size


def test_a_cluster_page_shows_members_trend_and_its_place_on_the_map(page, django_assert_max_num_queries):
    project, client = page
    with django_assert_max_num_queries(14):
        html = client.get(f"/projects/{project.pk}/clusters/1/").content.decode()
    assert html.count('class="mono"><a href=') == 6  # six member rows, each linking its trace
    assert "6 in the last 30 days" in html
    assert 'fill="#cf222e"' in html  # the current cluster is highlighted on the map
    noise = client.get(f"/projects/{project.pk}/clusters/unclustered/").content.decode()
    assert "Unclustered failures" in noise and "text 9" in noise
