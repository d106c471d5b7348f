import numpy as np

from flywheel.cluster import ClusterParams, ClusterProfile, fit_clusters, match_clusters

from .conftest import NEW_TOPIC, templated


def profile(keys, centroid=(1.0, 0.0, 0.0)) -> ClusterProfile:
    return ClusterProfile(frozenset(keys), np.array(centroid, dtype=np.float32))


def members(prefix: str, n: int, start: int = 0) -> set[str]:
    return {f"{prefix}{i}" for i in range(start, start + n)}


def test_clusters_that_keep_most_members_keep_their_ids():
    old = {"A": profile(members("a", 20)), "B": profile(members("b", 20))}
    new = {0: profile(members("b", 20) | members("x", 5)), 1: profile(members("a", 18))}
    assert match_clusters(old, new) == {0: "B", 1: "A"}


def test_a_genuinely_new_cluster_is_marked_new():
    old = {7: profile(members("a", 20), (1, 0, 0))}
    new = {0: profile(members("a", 20), (1, 0, 0)), 1: profile(members("z", 20), (0, 1, 0))}
    assert match_clusters(old, new) == {0: 7, 1: None}


def test_without_member_overlap_a_close_centroid_still_matches():
    old = {"A": profile(members("a", 20), (1, 0, 0)), "B": profile(members("b", 20), (0, 1, 0))}
    new = {0: profile(members("n", 20), (0.95, 0.1, 0.0)), 1: profile(members("m", 20), (0, 0, 1))}
    assert match_clusters(old, new) == {0: "A", 1: None}


def test_small_overlap_is_not_enough():
    old = {"A": profile(members("a", 20), (1, 0, 0))}
    new = {0: profile(members("a", 4) | members("n", 20), (0, 1, 0))}
    assert match_clusters(old, new, min_overlap=0.3) == {0: None}


def test_a_split_keeps_the_id_on_the_larger_part_and_the_rest_is_new():
    old = {"A": profile(members("a", 40), (1, 0, 0))}
    new = {0: profile(members("a", 15), (0.9, 0.43, 0)), 1: profile(members("a", 25, 15), (1, 0, 0))}
    assert match_clusters(old, new) == {0: None, 1: "A"}


def test_a_merge_takes_the_id_it_overlaps_most_and_retires_the_other():
    old = {"A": profile(members("a", 30), (1, 0, 0)), "B": profile(members("b", 10), (0, 1, 0))}
    new = {0: profile(members("a", 30) | members("b", 10), (0.9, 0.3, 0))}
    assert match_clusters(old, new) == {0: "A"}


def test_ties_are_broken_the_same_way_whatever_the_input_order():
    old = {"A": profile(members("a", 10)), "B": profile(members("b", 10))}
    new = {0: profile(members("a", 10) | members("b", 10))}
    first = match_clusters(old, new)
    reordered = match_clusters(dict(reversed(old.items())), new)
    assert first == reordered
    assert first[0] in {"A", "B"}


def test_empty_sides_match_nothing():
    assert match_clusters({}, {0: profile({"a"})}) == {0: None}
    assert match_clusters({"A": profile({"a"})}, {}) == {}


def test_re_clustering_real_text_with_added_data_keeps_ids_and_flags_the_new_topic(
    minilm, topic_corpus, topic_vectors, topic_fit
):
    texts, _ = topic_corpus
    extra_texts = templated(*NEW_TOPIC)
    vectors = np.vstack([topic_vectors, minilm.embed(extra_texts)])
    grown = fit_clusters(vectors, ClusterParams(seed=7))  # a different seed, like a later run
    keys = [f"failure-{i}" for i in range(len(vectors))]

    def profiles(fit):
        return {
            label: ClusterProfile(
                frozenset(keys[i] for i in np.flatnonzero(fit.labels == label)), fit.centroids[label]
            )
            for label in fit.centroids
        }

    old_ids = {f"cluster-{label}": p for label, p in profiles(topic_fit).items()}
    mapping = match_clusters(old_ids, profiles(grown))
    new_topic_label = int(np.bincount(grown.labels[len(texts) :][grown.labels[len(texts) :] >= 0]).argmax())
    assert mapping[new_topic_label] is None
    assert sorted(v for v in mapping.values() if v is not None) == sorted(old_ids)
    for label, old_id in mapping.items():
        if old_id is not None:
            old_label = int(old_id.split("-")[1])
            same = np.flatnonzero(topic_fit.labels == old_label)
            assert (grown.labels[same] == label).mean() > 0.9
