"""Reject option: coverage vs accuracy as the confidence threshold rises, and the threshold for a target accuracy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def coverage_accuracy_curve(confidence: np.ndarray, correct: np.ndarray) -> pd.DataFrame:
    """For each distinct confidence t (ascending): keep predictions with confidence ≥ t.

    Returns a table with threshold, coverage (share kept), accuracy (on the kept ones) and n_kept.
    The first row (lowest threshold) keeps everything.
    """
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    if conf.shape != ok.shape or conf.ndim != 1:
        raise ValueError(f"confidence and correct must be 1-D of the same length, got {conf.shape} and {ok.shape}")
    if len(conf) == 0:
        raise ValueError("empty inputs")
    order = np.argsort(-conf, kind="stable")
    c_sorted, ok_sorted = conf[order], ok[order]
    kept = np.arange(1, len(conf) + 1)
    acc = np.cumsum(ok_sorted) / kept
    # one point per distinct threshold: the last index of each run of equal confidences
    last = np.r_[np.nonzero(np.diff(c_sorted))[0], len(conf) - 1]
    df = pd.DataFrame({"threshold": c_sorted[last], "coverage": kept[last] / len(conf), "accuracy": acc[last],
                       "n_kept": kept[last]})
    return df.sort_values("threshold").reset_index(drop=True)


@dataclass
class RejectChoice:
    """The chosen threshold and what it gives on the data it was chosen on."""

    threshold: float
    target_accuracy: float
    coverage: float
    accuracy: float
    reached: bool  # False: no threshold reaches the target; the most selective one is returned


def threshold_for_accuracy(confidence: np.ndarray, correct: np.ndarray, target: float = 0.9,
                           min_kept: int = 1) -> RejectChoice:
    """The lowest threshold (largest coverage) whose accepted predictions reach `target` accuracy.

    Args:
        confidence: top-class probability of each prediction (calibrated, ideally).
        correct: whether each prediction is right.
        target: accuracy wanted on the accepted predictions.
        min_kept: ignore thresholds keeping fewer predictions (tiny sets reach any accuracy by luck).
    """
    if not 0 < target <= 1:
        raise ValueError("target accuracy must be in (0, 1]")
    curve = coverage_accuracy_curve(confidence, correct)
    ok = curve[(curve.accuracy >= target) & (curve.n_kept >= min_kept)]
    if len(ok):
        row = ok.iloc[ok.coverage.argmax()]
        return RejectChoice(float(row.threshold), target, float(row.coverage), float(row.accuracy), True)
    eligible = curve[curve.n_kept >= min_kept]
    row = (eligible if len(eligible) else curve).sort_values("accuracy").iloc[-1]
    return RejectChoice(float(row.threshold), target, float(row.coverage), float(row.accuracy), False)


def apply_threshold(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> dict[str, float]:
    """Automation rate (share accepted), accuracy on accepted and on rejected predictions."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    keep = conf >= threshold
    return {"threshold": float(threshold), "automation_rate": float(keep.mean()),
            "accuracy_accepted": float(ok[keep].mean()) if keep.any() else float("nan"),
            "accuracy_rejected": float(ok[~keep].mean()) if (~keep).any() else float("nan"),
            "accuracy_all": float(ok.mean()), "n_accepted": int(keep.sum()), "n": int(len(ok))}


def plot_coverage_accuracy(curves: dict[str, tuple[np.ndarray, np.ndarray]], target: float | None = None,
                           chosen: dict[str, float] | None = None, title: str = "Reject option: coverage vs accuracy",
                           ax=None):
    """Accuracy of the accepted predictions against coverage, one line per set ({name: (confidence, correct)})."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, (conf, ok) in curves.items():
        c = coverage_accuracy_curve(conf, ok)
        ax.plot(c.coverage * 100, c.accuracy * 100, label=name)
        if chosen and name in chosen:
            r = apply_threshold(conf, ok, chosen[name])
            ax.plot([r["automation_rate"] * 100], [r["accuracy_accepted"] * 100], "o", color="black")
            ax.annotate(f"t={chosen[name]:.2f}: {r['automation_rate']:.0%} automated",
                        (r["automation_rate"] * 100, r["accuracy_accepted"] * 100), textcoords="offset points",
                        xytext=(-10, -18), fontsize=8, ha="right")
    if target is not None:
        ax.axhline(target * 100, ls="--", color="grey", label=f"target accuracy {target:.0%}")
    ax.set(xlabel="coverage: e-mails handled automatically (%)", ylabel="accuracy on handled e-mails (%)",
           title=title, xlim=(0, 101))
    ax.legend(loc="lower left")
    return ax
