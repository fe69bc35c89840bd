"""Classification figures shared by the studies."""
from __future__ import annotations

from typing import Sequence

from sklearn.metrics import accuracy_score, f1_score
from sklearn.utils.multiclass import unique_labels


def macro_f1(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Macro-F1 over every class of `labels`: the unweighted mean of the per-class F1.

    The one definition used by all studies. A class of `labels` that is neither in `y_true` nor in
    `y_pred` (e.g. a rare class absent from a small split) counts as F1 = 0, so the average is always
    over `len(labels)` classes and scores of splits with different class coverage stay comparable
    (scikit-learn's default, without `labels`, would average only the classes that occur).
    A predicted or true value outside `labels` is ignored by the average (but still counts as an error
    of the classes it was confused with).

    Args:
        labels: the full label set (class names, or `range(k)` for class indices).
    """
    labels = list(labels)
    if not labels:
        raise ValueError("labels must name at least one class")
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def classification_scores(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> dict[str, float]:
    """Macro-F1, weighted F1 and accuracy.

    Args:
        labels: the full label set; when given, macro-F1 averages over all of them (see `macro_f1`), so a
            class never predicted nor present in this split counts as 0 instead of being skipped. Without
            it, the labels are those present in `y_true` or `y_pred`.
    """
    lab = list(unique_labels(y_true, y_pred)) if labels is None else list(labels)
    return {"macro_f1": macro_f1(y_true, y_pred, lab),
            "weighted_f1": float(f1_score(y_true, y_pred, labels=lab, average="weighted", zero_division=0)),
            "accuracy": float(accuracy_score(y_true, y_pred))}
