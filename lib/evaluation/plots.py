"""Plots shared by the studies: confusion matrices and comparison bars."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix


def plot_confusion(y_true: Sequence, y_pred: Sequence, labels: Sequence[str], title: str = "Confusion matrix",
                   normalize: bool = True, ax=None):
    """Confusion matrix heat map (rows: true class, columns: predicted), row-normalised by default."""
    import matplotlib.pyplot as plt

    cm = confusion_matrix(y_true, y_pred, labels=list(labels)).astype(float)
    if normalize:
        cm = cm / np.clip(cm.sum(1, keepdims=True), 1, None)
    n = len(labels)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5, 0.45 * n + 3), max(4, 0.45 * n + 2.5)))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, label="share of the true class" if normalize else "count")
    ax.set_xticks(range(n), [str(l) for l in labels], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), [str(l) for l in labels], fontsize=8)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{cm[i, j]:.2f}" if normalize else int(cm[i, j]), ha="center", va="center",
                        fontsize=7, color="white" if cm[i, j] > (0.5 if normalize else cm.max() / 2) else "black")
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    return ax


def most_confused_pairs(y_true: Sequence, y_pred: Sequence, labels: Sequence[str], top: int = 10) -> pd.DataFrame:
    """The (true, predicted) pairs with the most errors, with their share of the true class."""
    cm = confusion_matrix(y_true, y_pred, labels=list(labels))
    rows = []
    for i, t in enumerate(labels):
        for j, p in enumerate(labels):
            if i != j and cm[i, j]:
                rows.append({"true": t, "predicted": p, "errors": int(cm[i, j]),
                             "share_of_true": cm[i, j] / max(cm[i].sum(), 1)})
    df = pd.DataFrame(rows, columns=["true", "predicted", "errors", "share_of_true"])
    return df.sort_values("errors", ascending=False).head(top).reset_index(drop=True)


def plot_comparison(df: pd.DataFrame, metric: str, label: str = "model", err: str | None = None,
                    title: str | None = None, ax=None):
    """Horizontal bars of one metric per model (optionally with an error column, e.g. CV std)."""
    import matplotlib.pyplot as plt

    d = df.sort_values(metric)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(d) + 1.5))
    ax.barh(d[label].astype(str), d[metric], xerr=d[err] if err else None, color="#4c78a8", capsize=3)
    for y, v in enumerate(d[metric]):
        ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
    ax.set(xlabel=metric, ylabel=label, title=title or f"{metric} by {label}")
    ax.set_xlim(0, min(1.05, max(1e-9, d[metric].max()) * 1.15) if d[metric].max() <= 1 else None)
    return ax


def plot_oof_vs_test(table: pd.DataFrame, oof: str = "oof_macro_f1", test: str = "test_macro_f1",
                     label: str = "model", title: str = "Out of fold vs test", ax=None):
    """Two bars per model: the out-of-fold score (where choices are made) and the test score (reported once)."""
    import matplotlib.pyplot as plt

    d = table.sort_values(oof)
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.5 * len(d) + 1.5))
    y = np.arange(len(d))
    ax.barh(y - 0.2, d[oof], height=0.4, label="out-of-fold (training rows: where choices are made)")
    ax.barh(y + 0.2, d[test], height=0.4, label="test (reported once)")
    for yv, v in zip(y + 0.2, d[test]):
        ax.text(v + 0.005, yv, f"{v:.3f}", va="center", fontsize=8)
    ax.set_yticks(y, d[label])
    ax.set(xlabel=oof.replace("oof_", "").replace("_", "-") + " (0–1)", xlim=(0, 1.08), title=title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
    return ax
