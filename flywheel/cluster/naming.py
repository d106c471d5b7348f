"""Cluster names from c-TF-IDF keywords (class-based TF-IDF, as in BERTopic).

All documents of one cluster are joined into one class document. A term's weight in class c is
``tf(t, c) · log(1 + A / f(t))``: ``tf`` its frequency in c (L1-normalised per class), ``f`` its
frequency over all classes and ``A`` the average number of words per class. Words common to every
cluster ("please", "help") sink; words frequent in one cluster only rise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from flywheel.cluster.clustering import NOISE

NOISE_NAME = "unclustered"
NAME_SEPARATOR = " · "
# PII placeholders (<PERSON_1>, <EMAIL_ADDRESS_2>) and other bracketed tags: the scrubber put them
# there, they say nothing about the failure, and "person_1" must never name a cluster.
_PLACEHOLDER_RE = re.compile(r"<[A-Za-z][A-Za-z0-9_]*>")
# Words of two or more letters; digits alone ("1", "2024") make poor names.
_TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W_]+\b"  # noqa: S105 (a regex, not a secret)


def cluster_keywords(
    docs: Sequence[str], labels: Sequence[int] | np.ndarray, top_n: int = 5, *, min_df: int = 1
) -> dict[int, list[str]]:
    """Top ``top_n`` c-TF-IDF terms (unigrams and bigrams) per label, noise included if present.

    ``docs`` and ``labels`` are aligned, shape (n,). ``min_df`` counts clusters a term must occur
    in. A term sharing a word with a better one ("card" after "credit card") is skipped, so
    names do not repeat themselves.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    keys = sorted({int(x) for x in labels})
    if not keys:
        return {}
    joined = [
        " ".join(_PLACEHOLDER_RE.sub(" ", docs[int(i)]) for i in np.flatnonzero(labels == k)) for k in keys
    ]
    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=min_df, token_pattern=_TOKEN_PATTERN
    )
    try:
        # Sparse (classes, terms): a dense matrix would be clusters x vocabulary, GBs at 50k texts.
        counts = vectorizer.fit_transform(joined).tocsr().astype(np.float64)
    except ValueError:  # no usable words at all (only stop words, digits or placeholders)
        return {k: [] for k in keys}
    terms = vectorizer.get_feature_names_out()
    idf = _class_idf(counts)
    out: dict[int, list[str]] = {}
    for row, key in enumerate(keys):
        span = slice(counts.indptr[row], counts.indptr[row + 1])
        columns, frequency = counts.indices[span], counts.data[span]
        weights = frequency / max(frequency.sum(), 1.0) * idf[columns]  # L1-normalised tf x idf
        ranked = sorted(zip(-weights, (str(terms[j]) for j in columns), strict=True))
        out[key] = _distinct([term for _, term in ranked], top_n)
    return out


def cluster_name(keywords: Sequence[str], *, max_terms: int = 3) -> str:
    """Join the top keywords into a name like ``refund · broken · order``; "" when there are none."""
    return NAME_SEPARATOR.join(keywords[:max_terms])


def cluster_names(keywords: dict[int, list[str]], *, max_terms: int = 3) -> dict[int, str]:
    """A name per label; the noise bucket is always called ``NOISE_NAME``."""
    return {
        label: NOISE_NAME if label == NOISE else cluster_name(words, max_terms=max_terms)
        for label, words in keywords.items()
    }


def _class_idf(counts: Any) -> np.ndarray:
    """log(1 + A / f(t)) per term, shape (terms,); ``counts`` is a sparse (classes, terms) matrix."""
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    average_words = float(counts.sum()) / counts.shape[0]
    return np.log1p(average_words / np.maximum(frequency, 1.0))


def _distinct(ranked: list[str], top_n: int) -> list[str]:
    """Best terms, skipping any that repeat a chosen word or its inflection ("reminders" after
    "reminder", "card" after "credit card"): a name should spend its three slots on three ideas."""
    chosen: list[str] = []
    for term in ranked:
        words = term.split()
        if any(_related(a, b) for c in chosen for a in words for b in c.split()):
            continue
        chosen.append(term)
        if len(chosen) == top_n:
            break
    return chosen


def _related(a: str, b: str) -> bool:
    # A crude stemmer: one word starts with the other (4+ letters, so "pay"/"paypal" stay apart).
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 4 and long.startswith(short))
