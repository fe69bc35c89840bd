"""The contextual text member of study 2: frozen multilingual-e5-small embeddings + a linear head.

The study's second perspective ("a contextual encoder instead of TF-IDF"). On 2 CPU cores fine-tuning the
encoder on every listing is not affordable inside the default profile, so the encoder is frozen (a linear
probe) and combined with the TF-IDF model in a two-model text ensemble whose weight is chosen on validation.
Embeddings are cached on disk (keyed by model, maximum length and the hash of the texts): notebook 06 reuses
notebook 04's for the early fusion.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from lib.core.paths import models_dir
from lib.evaluation.calibration import nll
from lib.evaluation.crossfit import align_columns
from lib.evaluation.metrics import classification_scores

DEFAULT_ENCODER = "multilingual-e5-small"


def _texts_hash(texts: Sequence[str]) -> str:
    h = hashlib.sha1()
    for t in texts:
        h.update(str(t).encode("utf-8", "replace"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def embedding_cache_path(texts: Sequence[str], name: str, max_length: int) -> Path:
    """`models/embeddings/<model>_<max_length>tok_<hash of the texts>.npy`."""
    return models_dir() / "embeddings" / f"{name.replace('/', '_')}_{int(max_length)}tok_{_texts_hash(texts)}.npy"


@dataclass
class Embeddings:
    """Sentence embeddings of a list of texts, where they came from and how long they took."""

    X: np.ndarray
    name: str
    max_length: int
    from_cache: bool
    seconds: float
    cache_path: Path | None


def embed_listings(texts: Sequence[str], name: str = DEFAULT_ENCODER, max_length: int = 128, batch_size: int = 32,
                   use_cache: bool = True, progress: bool = True) -> Embeddings:
    """L2-normalised mean-pooled embeddings of listing texts (registry encoder, cached on disk).

    Args:
        max_length: tokens kept per listing (designation first, so the title is always read; 128 tokens
            cover the designation and the start of the description, at a quarter of the cost of 512).
    """
    from lib.core.registry import embed_texts

    texts = ["" if t is None else str(t) for t in texts]
    t0 = time.perf_counter()
    cache = embedding_cache_path(texts, name, max_length) if use_cache else None
    if cache is not None and cache.is_file():
        return Embeddings(np.load(cache), name, max_length, True, time.perf_counter() - t0, cache)
    X = np.asarray(embed_texts(texts, name, batch_size=batch_size, progress=progress, max_length=max_length),
                   dtype=np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npy")
        np.save(tmp, X)
        tmp.replace(cache)
    return Embeddings(X, name, max_length, False, time.perf_counter() - t0, cache)


class EmbeddingHead:
    """Logistic regression on frozen embeddings; probabilities over all `k` classes (index labels)."""

    def __init__(self, C: float = 10.0, seed: int = 42, k: int | None = None):
        self.C, self.seed, self.k = C, seed, k

    def fit(self, X: np.ndarray, y: np.ndarray) -> "EmbeddingHead":
        y = np.asarray(y, dtype=int)
        self.k = int(self.k or y.max() + 1)
        # balanced: the catalogue's classes are imbalanced and the metric is weighted F1 over all of them
        self.model = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced",
                                        random_state=self.seed).fit(X, y)
        self.classes_ = np.arange(self.k)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = align_columns(self.model.predict_proba(X), self.model.classes_, range(self.k), floor=0.0)
        return p / np.clip(p.sum(1, keepdims=True), 1e-12, None)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(1)


def choose_head_C(X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray, k: int,
                  Cs: Sequence[float] = (1.0, 3.0, 10.0, 30.0, 100.0), seed: int = 42
                  ) -> tuple[EmbeddingHead, pd.DataFrame]:
    """Fit a head per C on train, keep the best validation weighted F1 (ties: lower validation NLL).

    Returns:
        The chosen head (fitted on train) and the grid (C, validation scores, NLL, fit seconds).
    """
    rows, heads = [], {}
    for C in Cs:
        t0 = time.perf_counter()
        head = EmbeddingHead(C, seed, k).fit(X_tr, y_tr)
        p = head.predict_proba(X_va)
        rows.append({"C": float(C), **classification_scores(y_va, p.argmax(1), labels=range(k)),
                     "nll": nll(np.clip(p, 1e-12, 1), y_va), "fit_s": time.perf_counter() - t0})
        heads[float(C)] = head
    grid = pd.DataFrame(rows)
    best = grid.sort_values(["weighted_f1", "nll"], ascending=[False, True]).iloc[0]
    return heads[float(best["C"])], grid


SPLIT_ORDER = ("train", "val", "test")


@dataclass
class ListingEmbeddings(Embeddings):
    """Embeddings of train, val and test listings stacked in that order (one cache file for all three)."""

    sizes: tuple[int, ...] = ()

    def by_split(self) -> dict[str, np.ndarray]:
        """{"train": (n_train, d), "val": ..., "test": ...}."""
        ends = np.cumsum(self.sizes)
        return {name: self.X[end - size:end] for name, size, end in zip(SPLIT_ORDER, self.sizes, ends)}


def listing_embeddings(splits: dict[str, pd.DataFrame], name: str = DEFAULT_ENCODER, max_length: int = 128,
                       batch_size: int = 32, progress: bool = True) -> ListingEmbeddings:
    """Embeddings of the `text` of every listing, train then val then test (the order notebooks 04 and 06
    both use, so 06 reads 04's cache)."""
    texts = [t for s in SPLIT_ORDER for t in splits[s]["text"].fillna("").astype(str)]
    e = embed_listings(texts, name, max_length, batch_size, progress=progress)
    return ListingEmbeddings(e.X, e.name, e.max_length, e.from_cache, e.seconds, e.cache_path,
                             tuple(len(splits[s]) for s in SPLIT_ORDER))
