"""Temperature scaling (lib/evaluation/calibration.py) on a deliberately over-confident model."""
import numpy as np
import pytest

from lib.evaluation.calibration import (apply_temperature, expected_calibration_error, fit_temperature, nll,
                                        plot_reliability, reliability_curve, sharpen)


def overconfident(n=4000, k=5, scale=4.0, seed=0):
    """Labels drawn from softmax(z); the 'model' reports z * scale (too sharp by a factor `scale`)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, size=(n, k))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p])
    return z * scale, y


def test_ece_falls_after_temperature_scaling_on_an_overconfident_model():
    logits, y = overconfident()
    fit_part, test_part = slice(0, 2000), slice(2000, None)
    t = fit_temperature(logits[fit_part], y[fit_part])
    assert t == pytest.approx(4.0, rel=0.2)  # recovers the over-sharpening factor
    before = apply_temperature(logits[test_part], 1.0)
    after = apply_temperature(logits[test_part], t)
    ece_b, ece_a = expected_calibration_error(before, y[test_part]), expected_calibration_error(after, y[test_part])
    assert ece_b > 0.15 and ece_a < 0.05 and ece_a < ece_b / 3
    assert nll(after, y[test_part]) < nll(before, y[test_part])
    assert (before.argmax(1) == after.argmax(1)).all()  # temperature never changes the prediction


def test_calibrated_model_keeps_temperature_near_one():
    logits, y = overconfident(scale=1.0, seed=1)
    assert fit_temperature(logits, y) == pytest.approx(1.0, abs=0.15)


def test_probabilities_and_helpers():
    logits, y = overconfident(n=300)
    p = apply_temperature(logits, 2.0)
    assert np.allclose(p.sum(1), 1.0)
    assert np.allclose(sharpen(p, 1.0), p)
    assert (sharpen(p, 3.0).max(1) >= p.max(1) - 1e-12).all()
    c = reliability_curve(p, y, n_bins=10)
    assert c.count.sum() == len(y)
    with pytest.raises(ValueError):
        apply_temperature(logits, 0.0)
    with pytest.raises(ValueError):
        nll(p, y[:-1])
    ax = plot_reliability({"x": (p, y)})
    assert "ECE" in ax.get_legend().get_texts()[1].get_text()
