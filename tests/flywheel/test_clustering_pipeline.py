"""rules -> embed -> dedup -> cluster in the service, with the real MiniLM embedder."""

from __future__ import annotations

import csv
import itertools
import json

import pytest

from flywheel.models import Cluster, ClusterRun, Embedding, Failure, Score
from flywheel.rules import load_rules
from flywheel.services.pipeline import export_assignments, failures_pipeline
from flywheel.services.rules import rules_replace
from tests.factories import ProjectFactory, SourceFactory, TraceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TOPICS = {
    "refund": (
        [
            "I want my money back for the {item}",
            "Please refund the {item} I returned",
            "refund for broken {item}?",
            "The {item} arrived damaged, I need a refund",
            "How do I get a refund on the {item}",
        ],
        "We cannot process refunds.",
    ),
    "late": (
        [
            "Where is my {item}? It is a week late",
            "My {item} still has not arrived",
            "The {item} delivery is late",
            "Tracking for my {item} shows no update",
            "Why is the {item} shipment delayed",
        ],
        "It was delivered yesterday.",
    ),
    "password": (
        [
            "I can't log in to buy the {item}, password reset fails",
            "The reset password link is broken ({item})",
            "Password reset email never comes, I wanted the {item}",
            "My login password stopped working ({item} order)",
            "Reset my account password please, the link expired before I bought the {item}",
        ],
        "Try turning it off and on again.",
    ),
}
ITEMS = ["blender", "kettle", "toaster", "lamp", "chair", "desk", "mixer"]
RULES = 'rules:\n  - name: thumbs-down\n    score: {name: user-feedback, op: "<", value: 1}\n'


def add_failure(source, external_id: str, question: str, answer: str):
    trace = TraceFactory(
        source=source,
        external_id=external_id,
        conversation=[{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
    )
    Score.objects.create(trace=trace, external_id=f"{external_id}-fb", name="user-feedback", value=0)
    return trace


def add_topic(source, topic: str, count: int, prefix: str) -> None:
    templates, answer = TOPICS[topic]
    for n, (template, item) in enumerate(itertools.islice(itertools.product(templates, ITEMS), count)):
        add_failure(source, f"{prefix}-{topic}-{n}", template.format(item=item), answer)


@pytest.fixture
def project():
    # One cluster per topic: "eom" keeps a topic whole where the default "leaf" may split it.
    params = {"min_cluster_size": 8, "min_samples": 3, "cluster_selection_method": "eom"}
    project = ProjectFactory(name="shop", cluster_params=params)
    source = SourceFactory(project=project)
    rules_replace(project=project, ruleset=load_rules(RULES))
    for topic in TOPICS:
        add_topic(source, topic, 28, "a")
    # Exact duplicates of one refund failure (same text, other traces): one group of 4.
    for n in range(3):
        add_failure(source, f"dup-{n}", "I want my money back for the blender", "We cannot process refunds.")
    add_failure(source, "odd", "Translate this Latin poem about volcanoes into Klingon", "No.")
    TraceFactory(source=source, external_id="happy")  # no rule fires: never a failure
    return project


def cluster_of(external_id: str) -> Cluster | None:
    return Failure.objects.get(trace__external_id=external_id).cluster


def test_a_full_run_flags_dedups_and_finds_one_named_cluster_per_topic(project, minilm, tmp_path):
    outcome = failures_pipeline(project=project, embedder=minilm, full=True)
    assert outcome.evaluation.flagged == 3 * 28 + 3 + 1
    topic_of = {f"a-{t}-{n}": t for t in TOPICS for n in range(28)}
    placed = Failure.objects.filter(trace__external_id__in=topic_of).select_related("trace", "cluster")
    topics_in: dict[int, set[str]] = {}
    for failure in placed:
        if failure.cluster_id:
            topics_in.setdefault(failure.cluster_id, set()).add(topic_of[failure.trace.external_id])
    assert len(topics_in) >= 3
    assert all(len(topics) == 1 for topics in topics_in.values()), "a cluster mixes topics"
    assert sum(f.is_noise for f in placed) <= 0.1 * len(placed)
    names = " ".join(Cluster.objects.values_list("name", flat=True))
    assert "refund" in names and "password" in names
    odd = Failure.objects.get(trace__external_id="odd")
    assert odd.is_noise and odd.cluster is None
    first = Failure.objects.get(trace__external_id="a-refund-0")
    assert first.group_size == 4
    assert {f.duplicate_of_id for f in Failure.objects.filter(trace__external_id__startswith="dup-")} == {
        first.pk
    }
    run = ClusterRun.objects.get()
    assert run.status == "succeeded" and run.manifest["counts"]["clusters"] == len(topics_in)
    assert {"umap-learn", "hdbscan"} <= set(json.dumps(run.manifest["versions"]).replace('"', " ").split())

    path = tmp_path / "assignments.csv"
    assert export_assignments(project=project, path=path) == Failure.objects.count()
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["trace_id", "cluster_id", "cluster_name", "is_noise", "duplicate_of"]
    by_trace = {r["trace_id"]: r for r in rows}
    assert by_trace["dup-0"]["duplicate_of"] == "a-refund-0" and by_trace["a-refund-0"]["duplicate_of"] == ""
    assert by_trace["odd"]["is_noise"] == "true" and by_trace["odd"]["cluster_name"] == "unclustered"


def test_an_unchanged_failure_is_never_embedded_twice(project, minilm):
    first = failures_pipeline(project=project, embedder=minilm, full=True)
    assert first.embedded == Embedding.objects.count() < first.evaluation.flagged  # duplicates share a vector
    again = failures_pipeline(project=project, embedder=minilm, full=True)
    assert again.embedded == 0


def test_identities_survive_a_re_cluster_with_added_data_and_a_new_topic_is_marked_new(project, minilm):
    failures_pipeline(project=project, embedder=minilm, full=True)
    before = {topic: cluster_of(f"a-{topic}-0").number for topic in TOPICS}
    source = project.sources.get()
    for topic in TOPICS:
        add_topic(source, topic, 10, "b")
    for n, city in enumerate(["Oslo", "Lima", "Pune", "Kyiv", "Baku", "Doha", "Riga", "Suva"]):
        add_failure(
            source,
            f"c-coupon-{n}",
            f"My discount coupon code for {city} is rejected at checkout",
            "Pay full.",
        )
    failures_pipeline(project=project, embedder=minilm, full=True)
    after = {topic: cluster_of(f"a-{topic}-0").number for topic in TOPICS}
    assert after == before
    assert all(not cluster_of(f"a-{topic}-0").is_new for topic in TOPICS)
    coupon = cluster_of("c-coupon-0")
    assert coupon is not None and coupon.is_new and coupon.number not in before.values()


def test_new_failures_between_full_runs_are_assigned_incrementally_or_left_as_noise(project, minilm):
    failures_pipeline(project=project, embedder=minilm, full=True)
    refund = cluster_of("a-refund-0")
    source = project.sources.get()
    add_failure(
        source, "new-refund", "Can I get a refund for the broken kettle please", "We cannot process refunds."
    )
    add_failure(source, "new-dup", "I want my money back for the blender", "We cannot process refunds.")
    add_failure(source, "new-far", "Write a sonnet about quantum chromodynamics", "Sure.")
    outcome = failures_pipeline(project=project, embedder=minilm)  # not due: incremental
    assert outcome.run.kind == ClusterRun.Kind.INCREMENTAL
    assert cluster_of("new-refund") == refund
    assert Failure.objects.get(trace__external_id="new-refund").assigned_by == "incremental"
    dup = Failure.objects.get(trace__external_id="new-dup")
    assert dup.duplicate_of.trace.external_id == "a-refund-0" and dup.cluster == refund
    assert Failure.objects.get(trace__external_id="new-far").is_noise
    assert Failure.objects.get(trace__external_id="a-refund-0").group_size == 5
    refund.refresh_from_db()
    assert refund.occurrences == Failure.objects.filter(cluster=refund).count()
