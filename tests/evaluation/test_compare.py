"""Comparing candidates on shared splits: temperature on validation, ensemble, table, paired bootstrap."""
from __future__ import annotations

import numpy as np
import pytest

from lib.evaluation.compare import Candidate, compare, ensemble, per_class_f1


def _overconfident(n: int, k: int, acc: float, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < acc, y, (y + 1) % k)
    logits = rng.normal(0, 0.3, (n, k))
    logits[np.arange(n), pred] += scale  # confident whether right or wrong
    return logits, y


def test_temperature_on_validation_lowers_test_ece_of_an_overconfident_model():
    val, y_val = _overconfident(600, 4, 0.7, 8.0, 0)
    test, y_test = _overconfident(600, 4, 0.7, 8.0, 1)
    c = Candidate("over", val, test).calibrate(y_val)
    assert c.temperature > 2
    row = compare([c], y_val, y_test, list("abcd")).iloc[0]
    assert row.test_ece_after < row.test_ece_before - 0.1
    assert row.test_nll_after < row.test_nll_before
    assert row.test_accuracy == pytest.approx(0.7, abs=0.05)


def test_ensemble_averages_calibrated_probabilities():
    val, y_val = _overconfident(300, 3, 0.8, 4.0, 2)
    test, _ = _overconfident(300, 3, 0.8, 4.0, 3)
    a = Candidate("a", val, test).calibrate(y_val)
    b = Candidate("b", -val, -test).calibrate(y_val)
    e = ensemble("a+b", [a, b])
    np.testing.assert_allclose(np.exp(e.test_scores), (a.proba("test") + b.proba("test")) / 2, rtol=1e-6)
    assert "a + b" in e.kind
    with pytest.raises(ValueError):
        ensemble("none", [])


def test_per_class_f1_table():
    t = per_class_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["x", "y"])
    assert list(t["class"]) == ["x", "y"] and t.loc[0, "recall"] == 0.5 and t.loc[1, "precision"] == pytest.approx(2 / 3)

