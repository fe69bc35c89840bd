"""Late fusion of two modalities (study Part V): P = a·P_image + (1 − a)·P_text, `a` searched on validation.

A row whose image is missing (or whose text is empty) is answered by the other modality alone: the
weights are renormalised over the modalities that are present. A modality is "missing" on a row when
its mask says so or when its probability row holds NaN (that is how `align_probs` marks absent ids).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from lib.evaluation.calibration import nll
from lib.evaluation.metrics import macro_f1


def _present(p: np.ndarray, mask: Sequence[bool] | None) -> np.ndarray:
    ok = ~np.isnan(p).any(1)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != ok.shape:
            raise ValueError(f"mask has {mask.shape[0]} rows, probabilities {ok.shape[0]}")
        ok &= mask
    return ok


def fuse(p_image: np.ndarray, p_text: np.ndarray, alpha: float, image_present: Sequence[bool] | None = None,
         text_present: Sequence[bool] | None = None) -> np.ndarray:
    """a·P_image + (1 − a)·P_text per row, renormalised to the modality present when the other is missing.

    Args:
        p_image, p_text: (n, k) probabilities over the same classes in the same order (NaN rows = missing).
        alpha: weight of the image in [0, 1].
        image_present / text_present: optional boolean masks (False = that modality is missing on the row).

    Returns:
        (n, k) probabilities; rows where both modalities are missing are uniform (no evidence at all).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    pi, pt = np.asarray(p_image, dtype=np.float64), np.asarray(p_text, dtype=np.float64)
    if pi.shape != pt.shape or pi.ndim != 2:
        raise ValueError(f"image and text probabilities must have the same (n, k) shape: {pi.shape} vs {pt.shape}")
    has_i, has_t = _present(pi, image_present), _present(pt, text_present)
    wi = np.where(has_i, alpha, 0.0)
    wt = np.where(has_t, 1.0 - alpha, 0.0)
    # alpha = 0 or 1 with the favoured modality missing: fall back to the other one rather than answer nothing
    total = wi + wt
    fallback = (total == 0) & (has_i | has_t)
    wi = np.where(fallback, has_i.astype(float), wi)
    wt = np.where(fallback, has_t.astype(float), wt)
    total = wi + wt
    k = pi.shape[1]
    out = np.full_like(pi, 1.0 / k)
    rows = total > 0
    out[rows] = (wi[rows, None] * np.nan_to_num(pi[rows]) + wt[rows, None] * np.nan_to_num(pt[rows])) / total[rows, None]
    return out


def modality_status(p_image: np.ndarray, p_text: np.ndarray, image_present: Sequence[bool] | None = None,
                    text_present: Sequence[bool] | None = None) -> np.ndarray:
    """Per row: "both", "text only", "image only" or "none"."""
    has_i = _present(np.asarray(p_image, dtype=float), image_present)
    has_t = _present(np.asarray(p_text, dtype=float), text_present)
    return np.select([has_i & has_t, has_t, has_i], ["both", "text only", "image only"], "none")


@dataclass
class AlphaSearch:
    """The chosen image weight and the validation curve it was chosen from."""

    alpha: float
    curve: pd.DataFrame  # alpha, weighted_f1, accuracy, macro_f1, nll


def search_alpha(p_image: np.ndarray, p_text: np.ndarray, y: Sequence[int], grid: Sequence[float] | None = None,
                 metric: str = "weighted_f1", image_present: Sequence[bool] | None = None,
                 text_present: Sequence[bool] | None = None) -> AlphaSearch:
    """Pick `alpha` maximising `metric` on validation (ties broken by lower NLL, then by alpha closest to 0.5).

    Args:
        y: true class indices (columns of the probability matrices).
        grid: the candidate alphas (default 0, 0.05, ..., 1).
    """
    grid = np.round(np.linspace(0, 1, 21), 4) if grid is None else np.asarray(grid, dtype=float)
    y = np.asarray(y)
    classes = range(np.shape(p_text)[1])  # macro F1 over every class, absent ones counting 0
    rows = []
    for a in grid:
        p = fuse(p_image, p_text, float(a), image_present, text_present)
        pred = p.argmax(1)
        rows.append({"alpha": float(a), "accuracy": float(accuracy_score(y, pred)),
                     "weighted_f1": float(f1_score(y, pred, average="weighted", zero_division=0)),
                     "macro_f1": macro_f1(y, pred, classes), "nll": nll(p, y)})
    curve = pd.DataFrame(rows)
    ranked = curve.assign(dist=(curve["alpha"] - 0.5).abs()).sort_values([metric, "nll", "dist"],
                                                                         ascending=[False, True, True])
    return AlphaSearch(alpha=float(ranked.iloc[0]["alpha"]), curve=curve)


def align_probs(saved_ids: Sequence[str], proba: np.ndarray, ids: Sequence[str]) -> np.ndarray:
    """Rows of `proba` (indexed by `saved_ids`) in the order of `ids`; NaN rows for ids without probabilities."""
    pos = {str(i): k for k, i in enumerate(saved_ids)}
    proba = np.asarray(proba, dtype=np.float64)
    out = np.full((len(ids), proba.shape[1]), np.nan)
    for r, i in enumerate(map(str, ids)):
        if i in pos:
            out[r] = proba[pos[i]]
    return out


def per_class_gain(y: Sequence[int], pred_fused: Sequence[int], pred_ref: Sequence[int],
                   classes: Sequence[str]) -> pd.DataFrame:
    """F1 per class of the fusion vs a reference (e.g. the best single modality) and the gain, sorted by gain."""
    labels = list(range(len(classes)))
    f_fused = f1_score(y, pred_fused, labels=labels, average=None, zero_division=0)
    f_ref = f1_score(y, pred_ref, labels=labels, average=None, zero_division=0)
    support = np.bincount(np.asarray(y), minlength=len(classes))
    return (pd.DataFrame({"class": list(classes), "f1_reference": f_ref, "f1_fusion": f_fused,
                          "gain": f_fused - f_ref, "support": support})
            .sort_values("gain", ascending=False).reset_index(drop=True))


def plot_alpha_curve(curve: pd.DataFrame, alpha: float, title: str = "Fusion weight on validation"):
    """Validation weighted F1 / macro F1 against alpha (0 = text only, 1 = image only)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for m in ("weighted_f1", "macro_f1", "accuracy"):
        ax.plot(curve["alpha"], curve[m], "-o", ms=3, label=m)
    ax.axvline(alpha, color="grey", ls="--", label=f"chosen a = {alpha:.2f}")
    ax.set(xlabel="a, weight of the image probabilities (0 = text only, 1 = image only)",
           ylabel="validation score (0–1)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_class_gains(gains: pd.DataFrame, reference: str = "best single modality",
                     title: str = "Per-class F1 gain of the fusion"):
    """Horizontal bars: F1(fusion) − F1(reference) per class."""
    import matplotlib.pyplot as plt

    d = gains.sort_values("gain")
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(d) + 1.5))
    ax.barh(d["class"].astype(str), d["gain"], color=np.where(d["gain"] >= 0, "#4c78a8", "#e45756"))
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel=f"F1 gain vs {reference} (F1 points, test split)", ylabel="class", title=title)
    fig.tight_layout()
    return fig
