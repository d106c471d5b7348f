import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from flywheel.cluster import group_duplicates, normalise


def unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle), 0.0], dtype=np.float32)


def at_cosine(cos: float) -> np.ndarray:
    """Two unit vectors whose cosine is exactly ``cos`` (up to float32)."""
    return np.stack([unit(0.0), unit(float(np.arccos(cos)))])


def orthogonal(n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)


def test_normalise_ignores_case_spacing_and_edge_punctuation():
    assert normalise("  Refund   PLEASE!!! ") == normalise("refund please") == "refund please"
    assert normalise("3.5 GB") != normalise("35 GB")


def test_exact_duplicates_differing_in_case_and_spaces_are_grouped():
    texts = ["Refund  please!", "refund please", "REFUND PLEASE", "something else"]
    result = group_duplicates(texts, orthogonal(4))
    assert result.representative.tolist() == [0, 0, 0, 3]
    assert result.keep.tolist() == [0, 3]
    assert result.sizes.tolist() == [3, 1]
    assert result.exact_groups == 2


def test_near_duplicates_at_the_threshold_are_grouped_and_below_it_are_not():
    above = group_duplicates(["a", "b"], at_cosine(0.951), threshold=0.95)
    below = group_duplicates(["a", "b"], at_cosine(0.949), threshold=0.95)
    assert above.representative.tolist() == [0, 0]
    assert below.representative.tolist() == [0, 1]


def test_the_threshold_is_configurable():
    assert group_duplicates(["a", "b"], at_cosine(0.9), threshold=0.85).representative.tolist() == [0, 0]


def test_the_representative_is_the_earliest_member_of_the_group():
    vectors = np.stack([unit(1.0), unit(0.0), unit(0.01), unit(1.0)])
    result = group_duplicates(["x", "y", "z", "w"], vectors)
    assert result.representative.tolist() == [0, 1, 1, 0]


def test_grouping_is_transitive_across_three_items():
    step = float(np.arccos(0.96))  # neighbours at 0.96; the ends only at cos(2·step) ≈ 0.84
    vectors = np.stack([unit(0.0), unit(step), unit(2 * step)])
    assert float(vectors[0] @ vectors[2]) < 0.95
    assert group_duplicates(["a", "b", "c"], vectors).representative.tolist() == [0, 0, 0]


def test_exact_and_near_passes_combine():
    texts = ["Refund", "refund!", "refund now", "weather"]
    vectors = np.stack([unit(0.0), unit(1.5), unit(0.01), unit(3.0)])  # exact dup's vector is ignored
    assert group_duplicates(texts, vectors).representative.tolist() == [0, 0, 0, 3]


def test_duplicates_across_block_boundaries_are_found():
    angles = np.array([0.0, 0.3, 0.6, 0.6005, 0.9, 1.2, 1.5, 0.0005, 1.8, 1.2002])
    vectors = np.stack([unit(a) for a in angles])
    texts = [f"t{i}" for i in range(len(angles))]
    blocked = group_duplicates(texts, vectors, threshold=0.9999, block_size=3)
    assert blocked.representative.tolist() == [0, 1, 2, 2, 4, 5, 6, 0, 8, 5]
    whole = group_duplicates(texts, vectors, threshold=0.9999, block_size=1000)
    assert np.array_equal(blocked.representative, whole.representative)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    block_size=st.integers(1, 16),
    threshold=st.floats(0.5, 0.99),
)
def test_blockwise_grouping_matches_brute_force_components(seed, n, block_size, threshold):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 3)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    result = group_duplicates(
        [f"t{i}" for i in range(n)], vectors, threshold=threshold, block_size=block_size
    )
    _, component = connected_components((vectors @ vectors.T) >= threshold, directed=False)
    expected = np.array([np.flatnonzero(component == c).min() for c in component])
    assert np.array_equal(result.representative, expected)


def test_empty_input_gives_an_empty_result():
    result = group_duplicates([], np.zeros((0, 8), dtype=np.float32))
    assert result.representative.shape == (0,)
    assert result.keep.shape == (0,)
