"""Classification figures shared by the studies."""
from __future__ import annotations

from typing import Sequence

from sklearn.metrics import accuracy_score, f1_score


def classification_scores(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> dict[str, float]:
    """Macro-F1, weighted F1 and accuracy.

    Args:
        labels: the full label set; when given, macro-F1 averages over all of them, so a class never
            predicted nor present in this split counts as 0 instead of being skipped.
    """
    lab = list(labels) if labels is not None else None
    return {"macro_f1": float(f1_score(y_true, y_pred, labels=lab, average="macro", zero_division=0)),
            "weighted_f1": float(f1_score(y_true, y_pred, labels=lab, average="weighted", zero_division=0)),
            "accuracy": float(accuracy_score(y_true, y_pred))}
