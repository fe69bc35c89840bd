"""Text benchmark, C grid and the temperature calibration of the LinearSVC."""
from __future__ import annotations

import numpy as np
import pytest

from lib.products.data import load_products, split_products
from lib.products.text_model import (MODEL_NAMES, benchmark_text_models, best_c, calibration_table,
                                     fit_calibrated_text_model, grid_over_c, per_class_report, scores)


@pytest.fixture(scope="module")
def demo_splits(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # the generated catalogue goes to a temporary folder
        mp.setenv("CASEBOOK_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        data = load_products("", "flipkart", seed=5, demo_rows=400)
    return data, split_products(data.df, seed=5)


def test_benchmark_has_every_model_and_a_floor(demo_splits):
    data, s = demo_splits
    b = benchmark_text_models(s["train"]["text"], s["train"]["label"], s["val"]["text"], s["val"]["label"],
                              n_estimators=30, seed=5)
    assert set(b["model"]) == set(MODEL_NAMES)
    assert b["weighted_f1"].max() > 0.6  # 10 classes: chance is ~0.1
    assert (b["fit_s"] >= 0).all() and b["weighted_f1"].is_monotonic_decreasing


def test_grid_and_calibration_improve_nll(demo_splits):
    data, s = demo_splits
    tr, va, te = s["train"], s["val"], s["test"]
    grid = grid_over_c(tr["text"], tr["label"], va["text"], va["label"], Cs=(0.1, 1.0))
    C = best_c(grid)
    assert C in (0.1, 1.0)
    model = fit_calibrated_text_model(tr["text"], tr["label"], va["text"], va["label"], C=C)
    p = model.predict_proba(te["text"])
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert p.shape == (len(te), len(data.labels)) and model.classes == data.labels
    assert model.info["val_nll_after"] <= model.info["val_nll_before"]
    cal = calibration_table(model, te["text"], te["label"])
    assert cal["nll_after"] < cal["nll_before"]  # softmax of raw SVM margins is far too soft
    assert cal["ece_after"] < 0.2
    # an empty text carries no evidence: uniform probabilities
    np.testing.assert_allclose(model.predict_proba([""])[0], 1 / len(model.classes))
    rep = per_class_report(te["label"], model.predict(te["text"]), data.labels)
    assert rep["f1"].is_monotonic_increasing and len(rep) == len(data.labels)


def test_scores_macro_f1_counts_absent_classes():
    y, pred = ["10", "10", "50"], ["10", "50", "50"]
    assert scores(y, pred)["macro_f1"] == pytest.approx(2 / 3)  # over the classes present
    assert scores(y, pred, labels=["10", "50", "2583"])["macro_f1"] == pytest.approx(4 / 9)  # the third counts 0
    assert scores(y, pred, labels=["10", "50", "2583"])["weighted_f1"] == pytest.approx(2 / 3)


@pytest.mark.realdata
def test_text_pipeline_runs_on_rakuten_sample(real_data):
    data = load_products(str(real_data), "rakuten_sample", seed=42)
    s = split_products(data.df, seed=42)
    model = fit_calibrated_text_model(s["train"]["text"], s["train"]["label"], s["val"]["text"], s["val"]["label"],
                                      C=0.3)
    pred = model.predict(s["test"]["text"])
    acc = float(np.mean(np.array(pred) == s["test"]["label"].to_numpy()))
    assert acc > 0.35  # 27 classes, 345 training rows; the largest class is ~10 % of the rows
    assert len(model.classes) == 27
