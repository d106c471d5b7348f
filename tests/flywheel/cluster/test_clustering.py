import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from flywheel.cluster import NOISE, ClusterParams, assign_to_centroids, centroids_of, exemplars, fit_clusters
from flywheel.errors import ConfigError, InvalidInput


def test_clusters_recover_four_clearly_different_topics(topic_fit, topic_corpus):
    _, truth = topic_corpus
    topical = truth != -1
    assert topic_fit.n_clusters == 4
    assert adjusted_rand_score(truth[topical], topic_fit.labels[topical]) > 0.8


def test_an_isolated_odd_sentence_ends_as_noise(topic_fit):
    assert topic_fit.labels[-1] == NOISE
    assert topic_fit.similarity[-1] == 0.0


def test_labels_are_numbered_by_decreasing_size_with_unit_centroids(topic_fit):
    sizes = [int((topic_fit.labels == k).sum()) for k in sorted(topic_fit.centroids)]
    assert sorted(topic_fit.centroids) == list(range(topic_fit.n_clusters))
    assert sizes == sorted(sizes, reverse=True)
    for centroid in topic_fit.centroids.values():
        assert centroid.shape == (384,)
        assert np.isclose(np.linalg.norm(centroid), 1.0, atol=1e-5)


def test_every_step_is_timed(topic_fit):
    assert set(topic_fit.timings) == {"reduce_s", "hdbscan_s", "refine_s", "total_s"}


def test_the_same_seed_gives_the_same_clusters(topic_vectors, topic_fit):
    again = fit_clusters(topic_vectors, ClusterParams())
    assert np.array_equal(again.labels, topic_fit.labels)
    assert all(np.array_equal(again.centroids[k], topic_fit.centroids[k]) for k in topic_fit.centroids)


def test_assign_to_centroids_sends_near_points_to_their_cluster_and_far_points_to_noise(
    minilm, topic_fit, topic_corpus
):
    texts, _ = topic_corpus
    label_of = {
        topic: topic_fit.labels[texts.index(example)]
        for topic, example in [
            ("refund", "Where is my refund for the blender?"),
            ("weather", "What is the weather forecast for Osaka tomorrow?"),
        ]
    }
    new = minilm.embed(
        [
            "I returned the toaster two weeks ago and still have no refund",
            "Is it going to rain in Madrid on Sunday?",
            "Quantum chromodynamics describes the strong interaction between quarks.",
        ]
    )
    labels = assign_to_centroids(new, topic_fit.centroids, min_similarity=0.35)
    assert labels.tolist() == [label_of["refund"], label_of["weather"], NOISE]


def test_assign_to_centroids_without_clusters_is_all_noise():
    assert assign_to_centroids(np.eye(3, dtype=np.float32), {}, min_similarity=0.5).tolist() == [-1, -1, -1]


def test_too_few_points_are_all_noise():
    fit = fit_clusters(np.eye(4, dtype=np.float32), ClusterParams())
    assert fit.labels.tolist() == [NOISE] * 4
    assert fit.centroids == {}


def test_invalid_parameters_fail_with_a_config_error():
    with pytest.raises(ConfigError, match="min_cluster_size"):
        ClusterParams(min_cluster_size=1)
    with pytest.raises(ConfigError, match="cluster_selection_method"):
        ClusterParams(cluster_selection_method="best")  # type: ignore[arg-type]


def test_vectors_must_be_a_matrix():
    with pytest.raises(InvalidInput):
        fit_clusters(np.zeros(5, dtype=np.float32))


def test_centroids_of_ignores_noise_and_normalises():
    vectors = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float32)
    centroids = centroids_of(vectors, np.array([0, 0, 1, NOISE]))
    assert set(centroids) == {0, 1}
    assert np.allclose(centroids[0], [2**-0.5, 2**-0.5])
    assert np.allclose(centroids[1], [1, 0])


def test_exemplars_are_the_members_closest_to_the_centre_most_central_first():
    angles = [0.3, 0.0, -0.1, 0.2, 0.05, 3.0]
    vectors = np.array([[np.cos(a), np.sin(a)] for a in angles], dtype=np.float32)
    labels = np.array([0, 0, 0, 0, 0, NOISE])
    chosen = exemplars(vectors, labels, {0: np.array([1.0, 0.0])}, k=3)
    assert chosen == {0: [1, 4, 2]}


def test_exemplars_break_ties_by_index_and_skip_noise():
    vectors = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    chosen = exemplars(vectors, np.array([0, 0, 0, NOISE]), {0: np.array([1.0, 0.0])}, k=5)
    assert chosen == {0: [0, 1, 2]}


def test_real_clusters_get_three_to_five_exemplars(topic_vectors, topic_fit):
    chosen = exemplars(topic_vectors, topic_fit.labels, topic_fit.centroids, k=5)
    assert set(chosen) == set(topic_fit.centroids)
    assert all(len(v) == 5 and all(topic_fit.labels[i] == k for i in v) for k, v in chosen.items())
