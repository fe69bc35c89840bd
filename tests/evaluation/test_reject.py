"""The reject option: coverage/accuracy curve, threshold for a target accuracy, automation rate."""
import numpy as np
import pytest

from lib.evaluation.reject import apply_threshold, coverage_accuracy_curve, plot_coverage_accuracy, threshold_for_accuracy


def toy():
    conf = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4])
    ok = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    return conf, ok


def test_curve_is_consistent():
    conf, ok = toy()
    c = coverage_accuracy_curve(conf, ok)
    assert len(c) == 8 and c.coverage.is_monotonic_decreasing
    assert c.iloc[0].coverage == 1.0 and c.iloc[0].accuracy == pytest.approx(5 / 8)
    assert c.iloc[-1].coverage == 1 / 8 and c.iloc[-1].accuracy == 1.0
    ties = coverage_accuracy_curve(np.array([0.5, 0.5, 0.9]), np.array([1, 0, 1]))
    assert ties.threshold.tolist() == [0.5, 0.9] and ties.n_kept.tolist() == [3, 1]


def test_threshold_reaching_target():
    conf, ok = toy()
    choice = threshold_for_accuracy(conf, ok, target=0.8)
    assert choice.reached and choice.threshold == 0.6 and choice.coverage == 6 / 8
    assert choice.accuracy == pytest.approx(5 / 6)
    strict = threshold_for_accuracy(conf, ok, target=1.0)
    assert strict.threshold == 0.8 and strict.coverage == 0.5
    r = apply_threshold(conf, ok, choice.threshold)
    assert r["automation_rate"] == 0.75 and r["accuracy_accepted"] == pytest.approx(5 / 6)
    assert r["accuracy_rejected"] == 0.0


def test_unreachable_target_is_flagged():
    conf = np.linspace(0.3, 0.9, 50)
    ok = np.arange(50) % 2 == 0
    choice = threshold_for_accuracy(conf, ok, target=0.99, min_kept=10)
    assert not choice.reached and choice.accuracy < 0.99


def test_more_confident_is_more_accurate_on_a_calibrated_model():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.3, 1.0, 5000)
    ok = rng.random(5000) < conf  # calibrated by construction
    c = coverage_accuracy_curve(conf, ok)
    assert c[c.coverage <= 0.2].accuracy.min() > c.iloc[0].accuracy + 0.15
    choice = threshold_for_accuracy(conf, ok, target=0.9, min_kept=100)
    assert choice.reached and 0.1 < choice.coverage < 0.6


def test_bad_inputs_and_plot():
    with pytest.raises(ValueError):
        coverage_accuracy_curve(np.array([0.1, 0.2]), np.array([1]))
    with pytest.raises(ValueError):
        threshold_for_accuracy(np.array([0.5]), np.array([1]), target=1.5)
    conf, ok = toy()
    ax = plot_coverage_accuracy({"toy": (conf, ok)}, target=0.8, chosen={"toy": 0.6})
    assert ax.get_xlabel().startswith("coverage") and "%" in ax.get_ylabel()
