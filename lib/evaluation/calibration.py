"""Probability calibration: temperature scaling, ECE, NLL, reliability diagrams, sharpening."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax


def _check(logits_or_proba: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    arr = np.asarray(logits_or_proba, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D (n_samples, n_classes) array, got shape {arr.shape}")
    if y is not None and len(y) != len(arr):
        raise ValueError(f"{len(arr)} rows of scores but {len(y)} labels")
    return arr


def binary_logits(decision: np.ndarray) -> np.ndarray:
    """The (n, 2) logits of a binary classifier's (n,) decision values d: the columns [0, d].

    scikit-learn's binary `decision_function` returns one column, the margin of `classes_[1]`; every
    probability tool here expects one column per class. softmax([0, d] / T) = [σ(−d/T), σ(d/T)]: a proper
    two-class softmax whose class-1 probability is Platt's sigmoid without intercept, so the temperature
    scales the margin as it scales each column of a multi-class score matrix. The same convention as
    `lib.evaluation.crossfit.align_columns` ([−d/2, d/2] would give the same probabilities at any T).
    A 2-D array with more than one column is returned unchanged.
    """
    d = np.asarray(decision, dtype=np.float64)
    if d.ndim == 2 and d.shape[1] == 1:
        d = d[:, 0]
    if d.ndim == 1:
        return np.column_stack([np.zeros_like(d), d])
    return d


def nll(proba: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of the true class (y holds class indices)."""
    p = _check(proba, y)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), np.asarray(y)], eps, 1.0))))


N_BINS = 15  # one binning for the ECE figure and the reliability diagram that shows it


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE of the top-class confidence with equal-width bins (Guo et al., 2017): Σ_b (n_b/n)·|acc_b − conf_b|.

    Computed from `reliability_curve`, so the number and the diagram use the same bins.
    """
    c = reliability_curve(proba, y, n_bins)
    ok = c.count > 0
    return float(np.sum(c.count[ok] / c.count.sum() * np.abs(c.accuracy[ok] - c.confidence[ok])))


def fit_temperature(logits: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature T > 0 minimising validation NLL of softmax(logits / T).

    Args:
        logits: (n, k) unnormalised scores (decision_function or network logits; log-probabilities work too);
            a binary classifier's (n,) decision values are read as `binary_logits` (two columns).
        y: (n,) true class indices.

    Why not scikit-learn's `CalibratedClassifierCV(method="temperature")` (1.9): it calibrates an estimator by
    calling the estimator, while the casebook fits temperatures on score arrays from anywhere — fine-tuned
    transformer logits, frozen-encoder probe scores, out-of-fold matrices with a floor for classes a fold never
    saw; its array-level fitter (`_TemperatureScaling`) is private. For a scikit-learn estimator with
    `cv=folds, ensemble=False` it finds the same T (measured on a 4-class LinearSVC: 0.52373 both ways,
    probabilities within 3e-7), and notebook 03 uses it that way as a baseline.
    """
    z = _check(binary_logits(logits), y)
    y = np.asarray(y)

    def loss(log_t: float) -> float:
        return float(-np.mean(log_softmax(z / np.exp(log_t), axis=1)[np.arange(len(y)), y]))

    res = minimize_scalar(loss, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
    return float(np.exp(res.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T); (n,) binary decision values are read as `binary_logits` (two columns)."""
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    return softmax(_check(binary_logits(logits)) / temperature, axis=1)


def sharpen(proba: np.ndarray, k: float) -> np.ndarray:
    """Probability sharpening p^k / Σ p^k (k > 1 sharpens, k < 1 softens, k = 1 is the identity)."""
    if k <= 0:
        raise ValueError("k must be positive")
    p = np.clip(_check(proba), 1e-12, 1.0) ** k
    return p / p.sum(1, keepdims=True)


@dataclass
class ReliabilityCurve:
    """Per-bin mean confidence, accuracy and count."""

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def reliability_curve(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> ReliabilityCurve:
    """Bin the top-class confidence into (lo, hi] bins and compare with the observed accuracy in each bin."""
    p = _check(proba, y)
    conf, correct = p.max(1), (p.argmax(1) == np.asarray(y)).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return ReliabilityCurve(mean_conf, acc, count)


def plot_reliability(curves: dict[str, tuple[np.ndarray, np.ndarray]], n_bins: int = N_BINS,
                     title: str = "Reliability diagram", ax=None):
    """Reliability diagram for several probability sets, e.g. {"before": (p, y), "after": (p2, y)}."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    for label, (proba, y) in curves.items():
        c = reliability_curve(proba, y, n_bins)
        ok = c.count > 0
        ece = expected_calibration_error(proba, y, n_bins)
        ax.plot(c.confidence[ok], c.accuracy[ok], "o-", label=f"{label} (ECE {ece:.3f})")
    ax.set(xlabel=f"confidence (top-class probability; {n_bins} equal bins, as the ECE)", ylabel="accuracy",
           title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    return ax


def sklearn_calibrated_proba(estimator, X_train, y_train, X_test, folds, method: str = "sigmoid") -> np.ndarray:
    """Test probabilities of scikit-learn's `CalibratedClassifierCV` (Platt "sigmoid", "isotonic" or "temperature").

    The calibrator is fitted on out-of-fold scores of `folds` and the model refitted on all training rows
    (`ensemble=False`), the same protocol as our own temperature on out-of-fold scores: the honest
    baseline our temperature scaling is compared with. Columns are in `sorted(set(y_train))` order.
    """
    from sklearn.calibration import CalibratedClassifierCV

    cal = CalibratedClassifierCV(estimator, method=method, cv=list(folds), ensemble=False)
    return cal.fit(X_train, y_train).predict_proba(X_test)
