"""Session fixtures: MiniLM loads once, the small topic corpus is embedded and clustered once.

The first UMAP fit in a process pays ~20 s of numba JIT; sharing fits keeps the folder fast.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from flywheel.cluster import ClusterParams, SentenceTransformerEmbedder, fit_clusters

# Four clearly different topics, 25 templated sentences each (5 templates x 5 fillers).
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "refund": (
        [
            "I want a refund for the {} I sent back",
            "Where is my refund for the {}?",
            "The refund for my {} never arrived",
            "Please refund me, the {} arrived broken",
            "How long does a refund for a returned {} take?",
        ],
        ["headphones", "blender", "winter jacket", "laptop bag", "coffee maker"],
    ),
    "password": (
        [
            "I forgot the password for my {} account",
            "The password reset email for {} never came",
            "My {} password stopped working after the update",
            "How do I change my {} password?",
            "I'm locked out of {} after too many wrong passwords",
        ],
        ["email", "banking app", "work laptop", "streaming", "company VPN"],
    ),
    "weather": (
        [
            "What is the weather forecast for {} tomorrow?",
            "Will the weather in {} be rainy this weekend?",
            "How hot will the weather get in {} today?",
            "Does the weather report warn of a storm in {} tonight?",
            "Do I need an umbrella, what is the weather in {} this afternoon?",
        ],
        ["Berlin", "Chicago", "Lisbon", "Osaka", "Toronto"],
    ),
    "cooking": (
        [
            "How long should I bake {} in the oven for this recipe?",
            "Give me a simple recipe for {}",
            "Which recipe roasts {} best?",
            "Which spices does a recipe for {} need?",
            "Is there a recipe to cook {} without burning it?",
        ],
        ["chicken thighs", "salmon fillets", "sweet potatoes", "lasagna", "banana bread"],
    ),
}
ODD_SENTENCE = "The violin concerto premiered in Vienna in 1878 to mixed reviews."
NEW_TOPIC = (
    [
        "My {} package shows delivered but it never came",
        "The tracking number for my {} order does not work",
        "Why is the shipping of my {} delayed again?",
        "The courier left my {} at the wrong address",
    ],
    ["phone case", "sofa", "printer ink", "garden hose", "desk lamp"],
)


def templated(templates: list[str], fillers: list[str]) -> list[str]:
    return [t.format(f) for t, f in itertools.product(templates, fillers)]


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder()
    embedder.embed(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def topic_corpus() -> tuple[list[str], np.ndarray]:
    """(texts, true topic index per text); the odd sentence is last with topic -1."""
    texts, truth = [], []
    for index, (templates, fillers) in enumerate(TOPICS.values()):
        block = templated(templates, fillers)
        texts += block
        truth += [index] * len(block)
    return [*texts, ODD_SENTENCE], np.array([*truth, -1])


@pytest.fixture(scope="session")
def topic_vectors(minilm, topic_corpus) -> np.ndarray:
    return minilm.embed(topic_corpus[0])


@pytest.fixture(scope="session")
def topic_fit(topic_vectors):
    return fit_clusters(topic_vectors, ClusterParams())
