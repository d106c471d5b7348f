"""Embedding, dedup and clustering core: plain Python, no Django.

Stages, each swappable and documented with array shapes:
``Embedder.embed`` (texts → (n, dim) unit vectors) → ``group_duplicates`` → ``fit_clusters``
(UMAP + HDBSCAN + refinement) → ``cluster_keywords`` / ``exemplars`` → ``match_clusters``
(identity across runs). ``cluster_texts`` runs one pass end to end; ``assign_to_centroids``
places new items between full runs. Heavy libraries (torch, umap, hdbscan) load on first use.
"""

from flywheel.cluster.clustering import (
    DEFAULT_MIN_SIMILARITY,
    NOISE,
    ClusterFit,
    ClusterParams,
    assign_to_centroids,
    centroids_of,
    fit_clusters,
)
from flywheel.cluster.dedup import DedupResult, group_duplicates, normalise
from flywheel.cluster.embedding import (
    DEFAULT_MODEL_ID,
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    text_hash,
)
from flywheel.cluster.exemplars import exemplars
from flywheel.cluster.identity import ClusterProfile, NewCluster, OldCluster, match_clusters
from flywheel.cluster.manifest import package_versions, run_manifest
from flywheel.cluster.naming import NOISE_NAME, cluster_keywords, cluster_name, cluster_names
from flywheel.cluster.pipeline import Cluster, ClusterRun, cluster_texts

__all__ = [
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_MODEL_ID",
    "NOISE",
    "NOISE_NAME",
    "Cluster",
    "ClusterFit",
    "ClusterParams",
    "ClusterProfile",
    "ClusterRun",
    "DedupResult",
    "Embedder",
    "HashingEmbedder",
    "NewCluster",
    "OldCluster",
    "SentenceTransformerEmbedder",
    "assign_to_centroids",
    "centroids_of",
    "cluster_keywords",
    "cluster_name",
    "cluster_names",
    "cluster_texts",
    "exemplars",
    "fit_clusters",
    "group_duplicates",
    "match_clusters",
    "normalise",
    "package_versions",
    "run_manifest",
    "text_hash",
]
