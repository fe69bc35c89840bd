"""Frozen encoder + linear head: a logistic regression on mean-pooled sentence embeddings.

Cheap enough for every training row of a 10,000-row set on 2 cores (embedding is the cost: ~60 rows/s
for E5-small at 48 tokens; the regression takes seconds), and the natural starting head for fine-tuning
(LP-FT). C is chosen on out-of-fold macro-F1 over the training rows, never on test.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from lib.evaluation.crossfit import align_columns, out_of_fold
from lib.evaluation.metrics import classification_scores


def fit_probe(X: np.ndarray, y: np.ndarray, C: float, seed: int = 42) -> LogisticRegression:
    """Multinomial logistic regression (lbfgs) on embeddings; y holds class indices."""
    return LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(X, y)


def probe_scores(clf: LogisticRegression, X: np.ndarray, k: int) -> np.ndarray:
    """(n, k) decision values, columns in label-index order (a class the fit never saw gets the floor)."""
    return align_columns(clf.decision_function(X), clf.classes_, range(k))


def probe_head(X: np.ndarray, y: np.ndarray, k: int, C: float, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of a probe as a (k, d) weight and (k,) bias, for `lib.text.transformer.build_classifier(head_init=)`."""
    clf = fit_probe(X, y, C, seed)
    W = np.zeros((k, X.shape[1]), dtype=np.float32)
    b = np.full(k, -10.0, dtype=np.float32)  # a class absent from these rows starts improbable
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2 and coef.shape[0] == 1:  # binary: sklearn keeps one row, for class 1
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    W[clf.classes_] = coef
    b[clf.classes_] = intercept
    return W, b


@dataclass
class ProbeChoice:
    """The C chosen on out-of-fold macro-F1, its out-of-fold scores and the grid it was chosen from."""

    C: float
    oof_scores: np.ndarray
    grid: pd.DataFrame


def choose_C(X: np.ndarray, y: np.ndarray, k: int, folds: Sequence[tuple[np.ndarray, np.ndarray]],
             grid: Sequence[float] = (1, 3, 10, 30, 100), seed: int = 42, progress: bool = False) -> ProbeChoice:
    """The C of the grid with the best out-of-fold macro-F1 (ties: the smaller C, the simpler model)."""
    from tqdm.auto import tqdm

    rows, scores = [], {}
    for C in tqdm(list(grid), desc="probe C", disable=not progress, leave=False):
        oof = out_of_fold(lambda tr, va, C=C: probe_scores(fit_probe(X[tr], y[tr], C, seed), X[va], k), folds,
                          len(y), k)
        scores[C] = oof
        rows.append({"C": float(C), **{f"oof_{m}": v for m, v in
                                       classification_scores(y, oof.argmax(1), range(k)).items()}})
    table = pd.DataFrame(rows)
    best = table.sort_values(["oof_macro_f1", "C"], ascending=[False, True]).iloc[0]
    return ProbeChoice(float(best.C), scores[best.C], table)
