"""Duplicate removal across a release: exact, near, transitive, and the incremental pass."""

from __future__ import annotations

import numpy as np
import pytest

from flywheel.errors import InvalidInput
from flywheel.export.dedup import VectorFile, find_duplicates


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def near(v: np.ndarray, seed: int, scale: float = 0.05) -> np.ndarray:
    w = v + np.random.default_rng(seed).normal(size=v.shape).astype(np.float32) * scale
    return w / np.linalg.norm(w)


def test_exact_and_near_duplicates_are_removed_and_the_earliest_entry_of_a_group_is_kept():
    vectors = unit_vectors(5)
    vectors[3] = near(vectors[1], seed=1)
    texts = ["a", "b", "A.", "b2", "e"]  # "A." normalises to "a"
    dupes = find_duplicates(texts, vectors, threshold=0.95)
    assert dupes.representative.tolist() == [0, 1, 0, 1, 4]
    assert dupes.keep.tolist() == [True, True, False, False, True]
    assert (dupes.exact_removed, dupes.near_removed, dupes.mode) == (1, 1, "full")


def test_near_duplicates_are_grouped_transitively():
    angles = np.radians([0.0, 15.0, 30.0, 90.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    threshold = float(np.cos(np.radians(20)))  # 0~1 and 1~2 are near, 0 and 2 are not
    assert float(vectors[0] @ vectors[2]) < threshold
    dupes = find_duplicates(["x", "y", "z", "w"], vectors, threshold=threshold)
    assert dupes.representative.tolist() == [0, 0, 0, 3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_incremental_pass_finds_the_same_groups_as_the_full_pass(seed):
    rng = np.random.default_rng(seed)
    base = unit_vectors(300, seed=seed)
    vectors = base.copy()
    texts = [f"t{i}" for i in range(300)]
    known = np.zeros(300, dtype=bool)
    known[:200] = True  # carried over: pairwise distinct (random vectors in 32-d are)
    for i in range(200, 300):  # new entries: some near known ones, some near each other, some exact
        kind = rng.integers(4)
        if kind == 0:
            vectors[i] = near(base[rng.integers(200)], seed=i)
        elif kind == 1 and i > 201:
            vectors[i] = near(vectors[rng.integers(200, i)], seed=i)
        elif kind == 2:
            texts[i] = texts[rng.integers(200)]
    full = find_duplicates(texts, vectors, threshold=0.95)
    assert full.keep[:200].all(), "the known entries must really be distinct for this test"
    incremental = find_duplicates(texts, vectors, threshold=0.95, known=known, block_size=64)
    assert incremental.mode == "incremental"
    assert incremental.representative.tolist() == full.representative.tolist()
    assert (incremental.exact_removed, incremental.near_removed) == (full.exact_removed, full.near_removed)
    assert full.near_removed > 0 and full.exact_removed > 0


def test_misaligned_inputs_are_refused():
    with pytest.raises(InvalidInput, match="must align"):
        find_duplicates(["a", "b"], unit_vectors(3), threshold=0.95)


def test_nothing_to_dedup_gives_an_empty_result():
    dupes = find_duplicates([], np.zeros((0, 4), np.float32), threshold=0.95)
    assert dupes.keep.tolist() == [] and dupes.exact_removed == 0


def test_the_kept_entry_of_a_group_is_the_one_ranked_first_whatever_the_entry_order():
    vectors = unit_vectors(4)
    vectors[2] = near(vectors[0], seed=5)
    dupes = find_duplicates(["a", "b", "c", "A"], vectors, threshold=0.95, rank=np.array([3, 0, 1, 2]))
    assert dupes.representative.tolist() == [2, 1, 2, 2]  # {0, 2, 3} is one group; 2 ranks first


def test_the_incremental_pass_reads_the_vectors_block_by_block_from_a_file(tmp_path):
    vectors = unit_vectors(500, seed=9)
    vectors[450] = near(vectors[10], seed=1)
    vectors[480] = near(vectors[460], seed=2)
    known = np.arange(500) < 400
    source = VectorFile(tmp_path / "v.f32")
    for start in range(0, 500, 128):
        source.append(vectors[start : start + 128])
    texts = [f"t{i}" for i in range(500)]
    from_file = find_duplicates(texts, source, threshold=0.95, known=known, block_size=64)
    in_memory = find_duplicates(texts, vectors, threshold=0.95)
    assert from_file.representative.tolist() == in_memory.representative.tolist()
    assert from_file.representative[450] == 10 and from_file.representative[480] == 460
