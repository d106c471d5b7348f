import numpy as np
import pytest

from flywheel.cluster import Embedder, HashingEmbedder, SentenceTransformerEmbedder, text_hash
from flywheel.cluster.embedding import DEFAULT_MODEL_ID
from flywheel.errors import ConfigError

SENTENCES = [
    "My refund never arrived.",
    "I still have not received the money back for my return.",
    "The weather in Lisbon is sunny today.",
    "Give me a recipe for banana bread.",
]


def test_minilm_returns_one_normalised_384_float32_row_per_text(minilm):
    vectors = minilm.embed(SENTENCES)
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.dim == 384
    assert minilm.model_id == DEFAULT_MODEL_ID


def test_minilm_is_deterministic(minilm):
    assert np.array_equal(minilm.embed(SENTENCES), minilm.embed(SENTENCES))


def test_paraphrases_are_closer_than_unrelated_sentences(minilm):
    refund, paraphrase, weather, recipe = minilm.embed(SENTENCES)
    assert refund @ paraphrase > refund @ weather + 0.2
    assert refund @ paraphrase > refund @ recipe + 0.2


def test_batched_and_unbatched_embeddings_agree(minilm):
    texts = [f"{s} (case {i})" for i, s in enumerate(SENTENCES * 5)]
    small_batches = SentenceTransformerEmbedder(batch_size=3)
    small_batches._model = minilm._model  # same weights; only the batching differs
    assert np.allclose(small_batches.embed(texts), minilm.embed(texts), atol=1e-5)


def test_progress_callback_counts_up_to_every_text(minilm):
    texts = [f"failure number {i}" for i in range(300)]
    tiny = SentenceTransformerEmbedder(batch_size=2)  # 128 texts per encode call
    tiny._model = minilm._model
    seen: list[int] = []
    tiny.embed(texts, progress=seen.append)
    assert seen == [128, 256, 300]


def test_empty_input_gives_an_empty_matrix(minilm):
    assert minilm.embed([]).shape == (0, 384)


def test_a_missing_model_path_fails_with_a_config_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigError, match="no-such-model"):
        SentenceTransformerEmbedder(str(missing)).embed(["x"])


def test_a_directory_that_is_not_a_model_fails_with_a_config_error(tmp_path):
    (tmp_path / "README.md").write_text("not a model")
    with pytest.raises(ConfigError, match=str(tmp_path)):
        SentenceTransformerEmbedder(str(tmp_path)).embed(["x"])


def test_loading_is_lazy_so_construction_never_fails():
    SentenceTransformerEmbedder("/nowhere/at/all")


def test_both_embedders_satisfy_the_protocol(minilm):
    assert isinstance(minilm, Embedder)
    assert isinstance(HashingEmbedder(), Embedder)


def test_hashing_embedder_is_deterministic_normalised_and_word_sensitive():
    embedder = HashingEmbedder(dim=64)
    a = embedder.embed(["refund for my order", "refund for my order", "weather in paris", ""])
    assert a.shape == (4, 64)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert np.array_equal(a[0], a[1])
    assert a[0] @ a[1] > a[0] @ a[2]


def test_text_hash_depends_on_model_and_text():
    assert text_hash("m1", "hello") == text_hash("m1", "hello")
    assert text_hash("m1", "hello") != text_hash("m2", "hello")
    assert text_hash("m1", "hello") != text_hash("m1", "hello!")
