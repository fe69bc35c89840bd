"""Classifiers on features: the benchmark table, the MLP (learning, early stopping, state), the grid."""
from __future__ import annotations

import numpy as np
import pytest

from lib.vision.classifiers import (FeatureMLP, MLPConfig, benchmark_feature_models, make_feature_model,
                                    mlp_grid_search)


def _blobs(n: int, seed: int, k: int = 3, d: int = 20):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, d))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32), y


def test_benchmark_table_has_every_model_and_split():
    X, y = _blobs(150, 0)
    Xv, yv = _blobs(60, 0)
    res = benchmark_feature_models(X, y, {"val": (Xv, yv)}, seed=0, fast=True, progress=False)
    assert set(res.table["model"]) == {"logreg", "random_forest", "xgboost", "lightgbm"}
    assert {"accuracy", "weighted_f1", "macro_f1", "fit_s"} <= set(res.table.columns)
    assert (res.table["weighted_f1"] > 0.9).all()
    for model in res.models.values():
        np.testing.assert_allclose(model.predict_proba(Xv).sum(1), 1.0, atol=1e-5)


def test_unknown_model_name_is_an_error():
    with pytest.raises(ValueError, match="unknown feature model"):
        make_feature_model("svm", 0)


def test_mlp_learns_and_round_trips():
    X, y = _blobs(300, 1)
    Xv, yv = _blobs(100, 1)
    mlp = FeatureMLP(MLPConfig(hidden=32, epochs=40, patience=5), seed=0).fit(X, y, Xv, yv)
    assert (mlp.predict(Xv) == yv).mean() > 0.9
    assert mlp.history[-1]["train_loss"] < mlp.history[0]["train_loss"]
    again = FeatureMLP.from_state(mlp.state())
    np.testing.assert_allclose(again.predict_proba(Xv), mlp.predict_proba(Xv), atol=1e-6)


def test_mlp_stops_early_when_validation_stops_improving():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(200, 30)).astype(np.float32), rng.integers(0, 2, 200)  # pure noise: nothing to learn
    Xv, yv = rng.normal(size=(100, 30)).astype(np.float32), rng.integers(0, 2, 100)
    mlp = FeatureMLP(MLPConfig(hidden=64, epochs=100, patience=3, dropout=0.0), seed=0).fit(X, y, Xv, yv)
    assert len(mlp.history) < 100


def test_mlp_grid_tries_every_combination():
    X, y = _blobs(200, 3)
    Xv, yv = _blobs(80, 3)
    table, best = mlp_grid_search(X, y, Xv, yv, {"optimiser": ["adam", "sgd"], "activation": ["relu", "tanh"]},
                                  base=MLPConfig(hidden=16, epochs=10), progress=False)
    assert len(table) == 4 and table["val_weighted_f1"].is_monotonic_decreasing
    assert (best.predict(Xv) == yv).mean() == pytest.approx(table["val_accuracy"].iloc[0])
    with pytest.raises(ValueError, match="unknown MLP grid keys"):
        mlp_grid_search(X, y, Xv, yv, {"optimizer": ["adam"]})
