"""Why one listing got its class: the text model's n-gram contributions and LIME, Grad-CAM of the CNN member.

What the app's "Explain" page shows (apps/products_demo.py); the study-1 helpers in lib.explain do the generic part.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lib.explain.linear import _coef, _parts, feature_names


def _pipeline(model: Any) -> Any:
    """The sklearn pipeline of a CalibratedTextModel (notebook 04), or the pipeline itself."""
    return getattr(model, "pipeline", model)


def ngram_contributions(model: Any, text: str, class_name: str | None = None, k: int = 8) -> pd.DataFrame:
    """The n-grams of `text` that pushed the linear text model most towards and against one class.

    A linear model's score for class c is Σ_j w_cj · x_j + b_c over the text's TF-IDF values x_j, so each n-gram
    present contributes w_cj · x_j: positive pulls towards c, negative away from it.

    Args:
        model: a CalibratedTextModel or a fitted (vectoriser, linear classifier) Pipeline.
        text: the model's input text (for the products: `join_fields(designation, description)`).
        class_name: the class to explain (default: the model's most probable class for `text`).
        k: rows kept on each side (the k largest positive and the k most negative contributions).

    Returns:
        Columns ngram, kind ("word"/"char"), tfidf, weight, contribution, direction ("towards"/"against"),
        sorted by contribution, largest first; `attrs` hold the class, its score, the intercept and the sum of
        all contributions (score = sum + intercept).
    """
    pipe = _pipeline(model)
    vec, clf = _parts(pipe)
    classes = [str(c) for c in clf.classes_]
    x = vec.transform([text]).tocsr()
    coef = _coef(clf)
    intercept = np.atleast_1d(np.asarray(getattr(clf, "intercept_", np.zeros(1)), dtype=np.float64))
    if len(intercept) == 1 and len(classes) == 2:  # binary: the one margin favours classes[1] (as `_coef`)
        intercept = np.array([-intercept[0], intercept[0]])
    if class_name is None:
        ci = int(np.argmax(x @ coef.T + intercept))
    elif str(class_name) in classes:
        ci = classes.index(str(class_name))
    else:
        raise ValueError(f"class {class_name!r} is not one of the model's classes {classes}")
    names = feature_names(pipe)[x.indices]
    contrib = x.data * coef[ci, x.indices]
    kinds, _, grams = zip(*(str(n).partition("__") for n in names)) if len(names) else ((), (), ())
    table = pd.DataFrame({"ngram": list(grams), "kind": list(kinds), "tfidf": x.data.astype(float),
                          "weight": coef[ci, x.indices].astype(float), "contribution": contrib.astype(float)})
    pos = table[table["contribution"] > 0].nlargest(k, "contribution")
    neg = table[table["contribution"] < 0].nsmallest(k, "contribution")
    out = pd.concat([pos, neg.iloc[::-1]]).reset_index(drop=True)
    out["direction"] = np.where(out["contribution"] > 0, "towards", "against")
    out.attrs.update({"class": classes[ci], "intercept": float(intercept[ci]),
                      "contributions_sum": float(contrib.sum()), "score": float(contrib.sum() + intercept[ci])})
    return out


def plot_contributions(table: pd.DataFrame, title: str | None = None):
    """Horizontal bars of `ngram_contributions`: blue towards the class, red against it."""
    import matplotlib.pyplot as plt

    d = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.28 * max(len(d), 3) + 1.2))
    labels = [f"{g!r} ({kd})" for g, kd in zip(d["ngram"], d["kind"])]
    ax.barh(labels, d["contribution"], color=["#4c78a8" if c > 0 else "#e45756" for c in d["contribution"]])
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="contribution to the class score (weight × TF-IDF, a.u.)", ylabel="n-gram of the listing",
           title=title or f"Text n-grams for class {table.attrs.get('class', '')}")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def lime_explanation(model: Any, text: str, num_samples: int = 300, num_features: int = 8, seed: int = 0
                     ) -> pd.DataFrame:
    """LIME (lib.explain.lime_text) on one listing's text for the text model's predicted class.

    Args:
        model: anything with `predict_proba(list of texts)` and `classes` (a CalibratedTextModel).
        num_samples: perturbed copies of the text (LIME's cost: that many predictions).

    Returns:
        Columns word, weight (positive: towards the class), class; sorted by |weight|.
    """
    from lib.explain.lime_text import explain_texts, explanation_table

    classes = [str(c) for c in model.classes]
    exps = explain_texts(model.predict_proba, [text], classes, num_features=num_features,
                         num_samples=num_samples, seed=seed, progress=False)
    table = explanation_table(exps, classes).drop(columns="email")
    table = table.reindex(table["weight"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    return table[["word", "weight", "class"]]


@dataclass
class GradCamView:
    """One photo as the CNN sees it, the Grad-CAM map for one class, and that class's CNN probability."""

    image: np.ndarray  # (H, W, 3) uint8, framed as the CNN predicts (letterboxed or centre-cropped)
    heatmap: np.ndarray  # (H, W) in [0, 1]
    class_name: str
    probability: float


def grad_cam_view(cnn: Any, image: Any, class_name: str | None = None) -> GradCamView:
    """Grad-CAM (lib.vision.gradcam) of a `CNNClassifier` on one PIL image for `class_name` (default: its top)."""
    from lib.vision.gradcam import grad_cam

    image = image.convert("RGB")
    framing = getattr(cnn.config, "framing", "center_crop")
    x = cnn.backbone.eval_transform(framing)(image)[None]
    if class_name is not None and str(class_name) not in cnn.classes:
        raise ValueError(f"class {class_name!r} is not one of the CNN's classes")
    idx = None if class_name is None else [cnn.classes.index(str(class_name))]
    maps, explained = grad_cam(cnn.model, x, class_idx=idx)
    proba = cnn.predict_proba([image])[0]
    shown = np.asarray(cnn.backbone.frame_transform(framing)(image))
    c = int(explained[0])
    return GradCamView(shown, maps[0], cnn.classes[c], float(proba[c]))


def plot_grad_cam_view(view: GradCamView, alpha: float = 0.45):
    """The framed photo and its Grad-CAM overlay side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4), layout="constrained")
    axes[0].imshow(view.image)
    axes[0].set_title("photo as the CNN sees it", fontsize=9)
    axes[1].imshow(view.image)
    shown = axes[1].imshow(view.heatmap, cmap="jet", alpha=alpha, vmin=0, vmax=1)
    axes[1].set_title(f"Grad-CAM for {view.class_name} (CNN p = {view.probability:.2f})", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label="Grad-CAM relevance (0–1)")  # both panels stay equal
    return fig
