"""Explaining linear text models: global top n-grams per class, and the words of one text behind a prediction."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def _parts(model: Pipeline) -> tuple[object, object]:
    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        raise TypeError("expected a sklearn Pipeline (vectoriser, linear classifier)")
    return model[:-1], model.steps[-1][1]


def _coef(clf: object) -> np.ndarray:
    coef = getattr(clf, "coef_", None)
    if coef is None:
        raise TypeError(f"{type(clf).__name__} has no coef_: not a linear model")
    coef = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef)
    if coef.shape[0] == 1:  # binary: row 0 favours classes_[1]
        coef = np.vstack([-coef[0], coef[0]])
    return coef


def feature_names(model: Pipeline) -> np.ndarray:
    """Names of the vectoriser's features ('word__stage', 'char__ conv')."""
    vec, _ = _parts(model)
    return np.asarray(vec.get_feature_names_out())


def top_ngrams(model: Pipeline, k: int = 10) -> pd.DataFrame:
    """The `k` largest positive weights per class: columns class, feature, kind (word/char), ngram, weight."""
    _, clf = _parts(model)
    coef, names = _coef(clf), feature_names(model)
    rows = []
    for ci, cls in enumerate(clf.classes_):
        for j in np.argsort(-coef[ci])[:k]:
            kind, _, gram = names[j].partition("__")
            rows.append({"class": cls, "feature": names[j], "kind": kind, "ngram": gram, "weight": float(coef[ci, j])})
    return pd.DataFrame(rows)


def reasons_from_row(x: Any, weights: np.ndarray, names: np.ndarray, k: int = 4) -> list[str]:
    """The words/word-bigrams of a vectorised text (1 × n_features sparse row) that pushed most towards a class
    (positive contributions of `weights`, that class's row of the model's coefficients); placeholders are skipped."""
    idx = x.indices
    contrib = x.data * weights[idx]
    out: list[str] = []
    for j in np.argsort(-contrib):
        if contrib[j] <= 0 or len(out) >= k:
            break
        kind, _, gram = names[idx[j]].partition("__")
        if kind == "word" and gram not in out and not gram.strip("<>").upper() in ("PERSON", "EMAIL", "PHONE"):
            out.append(gram)
    return out


def plot_top_ngrams(table: pd.DataFrame, classes: Sequence[str] | None = None, k: int = 8, ncols: int = 3,
                    title: str = "Top n-grams per class (linear model weights)"):
    """One horizontal bar chart of the top-`k` weights per class."""
    import matplotlib.pyplot as plt

    classes = list(classes) if classes is not None else list(dict.fromkeys(table["class"]))
    nrows = int(np.ceil(len(classes) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 0.32 * k * nrows + 1.2 * nrows), squeeze=False)
    for ax, cls in zip(axes.ravel(), classes):
        d = table[table["class"] == cls].nlargest(k, "weight").iloc[::-1]
        labels = [f"{g!r} ({kd})" for g, kd in zip(d.ngram, d.kind)]
        ax.barh(labels, d.weight, color=["#4c78a8" if kd == "word" else "#f58518" for kd in d.kind])
        ax.set_title(str(cls) if len(str(cls)) <= 45 else str(cls)[:44] + "…", fontsize=8)
        ax.set_xlabel("weight (a.u.)")
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(classes):]:
        ax.axis("off")
    fig.suptitle(title + " — blue: word n-grams, orange: character n-grams", y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    return fig
