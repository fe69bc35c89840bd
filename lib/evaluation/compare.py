"""Comparing classifiers on the same validation and test splits: calibration, ensembles, one table.

Each candidate holds class scores (logits, decision values or log-probabilities) on validation and
test, columns in the order of the shared label list. `calibrate` fits a temperature on validation
only; `ensemble` averages the members' calibrated probabilities; `compare` gives one row per model (`lib.evaluation.paired` says
whether a gap between two models' predictions on the same rows is noise).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from lib.evaluation.calibration import apply_temperature, expected_calibration_error, fit_temperature, nll


@dataclass
class Candidate:
    """A model's validation and test scores (columns = labels) and its fitted temperature."""

    name: str
    val_scores: np.ndarray
    test_scores: np.ndarray
    temperature: float = 1.0
    kind: str = ""

    def calibrate(self, y_val: np.ndarray) -> "Candidate":
        """Fit the temperature on validation (minimum NLL); returns self."""
        self.temperature = fit_temperature(self.val_scores, np.asarray(y_val))
        return self

    def proba(self, split: str = "test", calibrated: bool = True) -> np.ndarray:
        """softmax(scores / T) on "val" or "test" (T = 1 when `calibrated` is False)."""
        scores = {"val": self.val_scores, "test": self.test_scores}[split]
        return apply_temperature(scores, self.temperature if calibrated else 1.0)


def ensemble(name: str, members: Sequence[Candidate], weights: Sequence[float] | None = None) -> Candidate:
    """Average of the members' calibrated probabilities (log taken, so it can be re-calibrated like the rest)."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    scores = {}
    for split in ("val", "test"):
        p = sum(wi * m.proba(split) for wi, m in zip(w, members))
        scores[split] = np.log(np.clip(p, 1e-12, 1.0))
    return Candidate(name, scores["val"], scores["test"], kind="ensemble of " + " + ".join(m.name for m in members))


def evaluate(proba: np.ndarray, y: np.ndarray, labels: Sequence[Any]) -> dict[str, float]:
    """Macro-F1, accuracy, ECE and NLL of probabilities against class indices."""
    y = np.asarray(y)
    pred = proba.argmax(1)
    return {"macro_f1": float(f1_score(y, pred, average="macro", labels=range(len(labels)), zero_division=0)),
            "accuracy": float(accuracy_score(y, pred)), "ece": expected_calibration_error(proba, y),
            "nll": nll(proba, y)}


def compare(candidates: Sequence[Candidate], y_val: np.ndarray, y_test: np.ndarray, labels: Sequence[Any]
            ) -> pd.DataFrame:
    """One row per model: validation and test macro-F1/accuracy, ECE and NLL before/after temperature scaling."""
    rows = []
    for c in candidates:
        val = evaluate(c.proba("val"), y_val, labels)
        before, after = evaluate(c.proba("test", False), y_test, labels), evaluate(c.proba("test"), y_test, labels)
        rows.append({"model": c.name, "val_macro_f1": val["macro_f1"], "val_accuracy": val["accuracy"],
                     "test_macro_f1": after["macro_f1"], "test_accuracy": after["accuracy"],
                     "temperature": c.temperature, "test_ece_before": before["ece"], "test_ece_after": after["ece"],
                     "test_nll_before": before["nll"], "test_nll_after": after["nll"], "kind": c.kind})
    return pd.DataFrame(rows)


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[Any]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (class indices in, label names out)."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=range(len(labels)), zero_division=0)
    return pd.DataFrame({"class": list(labels), "precision": p, "recall": r, "f1": f, "support": s})

