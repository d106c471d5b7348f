import numpy as np

from flywheel.cluster import NOISE, HashingEmbedder, cluster_texts, run_manifest
from flywheel.cluster.clustering import ClusterParams


def test_a_run_labels_every_item_and_counts_duplicates_in_sizes(topic_corpus, topic_vectors):
    texts, _ = topic_corpus
    dup_texts = [*texts, texts[0].upper() + "  ", texts[30]]
    dup_vectors = np.vstack([topic_vectors, topic_vectors[[0, 30]]])
    run = cluster_texts(dup_texts, dup_vectors)

    assert run.labels.shape == (len(dup_texts),)
    assert run.labels[-2] == run.labels[0] and run.labels[-1] == run.labels[30]
    assert run.dedup.keep.tolist() == list(range(len(texts)))
    by_label = {c.label: c for c in run.clusters}
    assert by_label[run.labels[0]].size == by_label[run.labels[0]].unique_size + 1
    assert sum(c.size for c in run.clusters) == len(dup_texts)


def test_every_cluster_has_a_name_exemplars_and_the_noise_bucket_stays_visible(topic_corpus, topic_vectors):
    texts, _ = topic_corpus
    run = cluster_texts(texts, topic_vectors)
    named = [c for c in run.clusters if c.label != NOISE]
    assert len(named) == 4
    for cluster in named:
        assert cluster.name and " · " in cluster.name
        assert 3 <= len(cluster.exemplars) <= 5
        assert all(run.labels[i] == cluster.label for i in cluster.exemplars)
        assert cluster.centroid is not None
    assert run.noise is not None
    assert run.noise.name == "unclustered"
    assert run.clusters[-1] is run.noise
    assert len(texts) - 1 in run.noise.exemplars


def test_the_manifest_records_parameters_counts_timings_and_versions(topic_corpus, topic_vectors):
    texts, _ = topic_corpus
    manifest = cluster_texts(texts, topic_vectors, params=ClusterParams(seed=3), model_id="m").manifest
    assert manifest["params"]["seed"] == 3
    assert manifest["embedding_model"] == "m"
    assert manifest["params"]["dedup_threshold"] == 0.95
    assert manifest["counts"]["items"] == len(texts)
    assert manifest["counts"]["clusters"] == 4
    assert {"dedup_s", "reduce_s", "hdbscan_s", "naming_s", "total_s"} <= set(manifest["timings_s"])
    for package in ("numpy", "umap-learn", "hdbscan", "sentence-transformers"):
        assert manifest["versions"][package]


def test_run_manifest_accepts_a_plain_mapping():
    manifest = run_manifest({"a": 1}, {"items": 3}, {"total_s": 0.12345})
    assert manifest["params"] == {"a": 1}
    assert manifest["timings_s"] == {"total_s": 0.123}
    assert manifest["versions"]["python"]


def test_the_pipeline_accepts_any_embedder_such_as_the_hashing_fake(topic_corpus):
    texts, _ = topic_corpus
    embedder = HashingEmbedder(dim=64)
    run = cluster_texts(texts, embedder.embed(texts), model_id=embedder.model_id)
    assert run.labels.shape == (len(texts),)
    assert run.manifest["embedding_dim"] == 64
    assert run.manifest["embedding_model"] == "hashing-64"
