"""The paired comparison of two models on the same rows (lib/evaluation/paired.py)."""
from __future__ import annotations

import numpy as np
import pytest

from lib.evaluation.paired import paired_bootstrap


def _bootstrap_by_hand(y, ref, new, n_boot, seed):
    """The loop `paired_bootstrap` replaced (the former lib/products/fusion_study.py copy): the reference to agree with."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for b in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        diffs[b] = (f1_score(y[i], new[i], average="weighted", zero_division=0)
                    - f1_score(y[i], ref[i], average="weighted", zero_division=0))
    return np.percentile(diffs, 2.5), np.percentile(diffs, 97.5), (diffs > 0).mean()


def test_paired_bootstrap_agrees_with_the_loop_it_replaced():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 120)
    ref = np.where(rng.random(120) < 0.6, y, rng.integers(0, 5, 120))
    new = np.where(rng.random(120) < 0.8, y, rng.integers(0, 5, 120))
    out = paired_bootstrap(y, ref, new, n_boot=200, seed=3)
    low, high, p_pos = _bootstrap_by_hand(y, ref, new, 200, 3)
    assert out["ci_low"] == pytest.approx(low) and out["ci_high"] == pytest.approx(high)
    assert out["p_gain_positive"] == pytest.approx(p_pos)
    assert 0 < out["ci_low"] < out["gain"] < out["ci_high"]  # a 20-point accuracy gap is not noise


def test_paired_bootstrap_of_identical_predictions_is_zero_not_nan():
    y = np.array([0, 1, 2] * 20)
    pred = np.roll(y, 1)
    assert paired_bootstrap(y, pred, pred, n_boot=50) == {"gain": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                                                          "p_gain_positive": 0.0}
