"""Folds, out-of-fold scores and column alignment: the rows choices are made on."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from lib.evaluation.crossfit import MISSING_CLASS_SCORE, align_columns, make_folds, out_of_fold
from lib.text.probe import choose_C, probe_head


def test_folds_partition_the_rows_and_stratify():
    y = np.repeat([0, 1, 2], [10, 10, 5])
    folds = make_folds(y, 5, seed=0)
    held = np.concatenate([va for _, va in folds])
    assert len(folds) == 5 and sorted(held) == list(range(25))
    for tr, va in folds:
        assert not set(tr) & set(va) and set(y[va]) == {0, 1, 2}
    assert len(make_folds(np.array([0, 0, 1, 1, 2]), 5)) == 2  # as many folds as the largest class allows
    with pytest.raises(ValueError):
        make_folds(np.array([0, 1, 2]), 5)


def test_align_columns_reorders_floors_missing_classes_and_expands_binary():
    out = align_columns(np.array([[1.0, 2.0], [3.0, 4.0]]), ["c", "b"], ["a", "b", "c"])
    assert out.tolist() == [[MISSING_CLASS_SCORE, 2.0, 1.0], [MISSING_CLASS_SCORE, 4.0, 3.0]]
    assert align_columns(np.array([0.5, -1.0]), ["no", "yes"], ["no", "yes"]).tolist() == [[0, 0.5], [0, -1.0]]


def test_out_of_fold_never_scores_a_row_with_its_own_model():
    """A 1-nearest-neighbour memoriser scores its training rows perfectly; out of fold it is at chance."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 2, 60)
    folds = make_folds(y, 3, seed=0)

    def fit_predict(tr, va):
        d = ((X[va, None] - X[None, tr]) ** 2).sum(-1)
        nearest = y[tr][d.argmin(1)]
        return np.eye(2)[nearest]

    oof = out_of_fold(fit_predict, folds, len(y), 2)
    assert (oof.argmax(1) == y).mean() < 0.75
    assert (fit_predict(np.arange(60), np.arange(60)).argmax(1) == y).all()


def test_probe_C_is_chosen_out_of_fold_and_head_matches_sklearn():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 8))
    y = np.repeat([0, 1, 2], [40, 10, 10])  # over-regularised, the probe predicts the majority class
    X = centres[y] + 0.8 * rng.normal(size=(60, 8))
    folds = make_folds(y, 4, seed=0)
    choice = choose_C(X, y, 3, folds, grid=(1e-4, 1.0))
    assert choice.C == 1.0 and choice.grid.oof_macro_f1.iloc[1] > choice.grid.oof_macro_f1.iloc[0] + 0.2
    W, b = probe_head(X, y, 4, C=1.0)  # a 4th class never seen: zero weights, low bias
    ref = LogisticRegression(C=1.0, max_iter=3000, random_state=42).fit(X, y)
    np.testing.assert_allclose((X @ W.T + b)[:, :3], ref.decision_function(X), atol=1e-4)
    assert (W[3] == 0).all() and b[3] < -5
