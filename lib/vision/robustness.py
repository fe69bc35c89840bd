"""Robustness of image classifiers to rotation, Gaussian noise and blur (perturbed copies of test photos).

The sweep streams: each batch of photos is decoded once, and every perturbation is applied to that batch
before the next is read, so memory holds one batch whatever the number of photos or conditions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.vision.classifiers import classification_scores


def rotate(image: Any, degrees: float) -> Any:
    """Rotate about the centre, filling the corners with white (product photos are shot on white)."""
    return image.rotate(degrees, resample=3, expand=False, fillcolor=(255, 255, 255))  # 3 = BICUBIC


def gaussian_noise(image: Any, sigma: float, seed: int = 0) -> Any:
    """Add i.i.d. Gaussian noise of standard deviation `sigma` (in 0–255 grey levels)."""
    from PIL import Image

    arr = np.asarray(image.convert("RGB"), dtype=np.float32)
    noisy = arr + np.random.default_rng(seed).normal(0.0, sigma, arr.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def blur(image: Any, radius: float) -> Any:
    """Gaussian blur of the given radius (pixels of the stored image)."""
    from PIL import ImageFilter

    return image.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else image


@dataclass(frozen=True)
class Perturbation:
    """One condition of the sweep: kind ("rotation", "noise", "blur") and level (degrees, sigma, radius)."""

    kind: str
    level: float

    def apply(self, image: Any, seed: int = 0) -> Any:
        if self.kind == "rotation":
            return rotate(image, self.level)
        if self.kind == "noise":
            return gaussian_noise(image, self.level, seed)
        if self.kind == "blur":
            return blur(image, self.level)
        raise ValueError(f"unknown perturbation {self.kind!r}")


UNITS = {"rotation": "degrees", "noise": "noise σ (grey levels, 0–255)", "blur": "blur radius (px)"}


def default_perturbations(rotation_step: float = 30, noise_levels: Sequence[float] = (0, 10, 25, 50, 80),
                          blur_levels: Sequence[float] = (0, 1, 2, 4, 6)) -> list[Perturbation]:
    """Rotation every `rotation_step` degrees over 0–360, plus noise and blur levels."""
    angles = np.arange(0, 360 + 1e-9, rotation_step)
    return ([Perturbation("rotation", float(a)) for a in angles] + [Perturbation("noise", float(s)) for s in noise_levels]
            + [Perturbation("blur", float(r)) for r in blur_levels])


def _is_identity(pert: Perturbation) -> bool:
    """A rotation of 0°/360°, noise 0 and blur 0 leave the image as it is."""
    return (pert.kind in ("noise", "blur") and pert.level == 0) or (pert.kind == "rotation" and pert.level % 360 == 0)


def robustness_sweep(images: Sequence[Any], y: Sequence[int],
                     predict_members: Callable[[list[Any]], Mapping[str, np.ndarray]],
                     perturbations: Sequence[Perturbation], seed: int = 0, progress: bool = True,
                     batch_size: int = 64, max_side: int | None = None, num_workers: int = 0) -> pd.DataFrame:
    """Score every model returned by `predict_members` on perturbed copies of `images`.

    Args:
        images: image paths or PIL images (readable: an unreadable path raises ValueError). Decoded once per
            batch of `batch_size`; every perturbation of the batch is predicted before the next batch is read.
        predict_members: a list of PIL images → {model name: probabilities}; include the vote in it so it is
            scored on exactly the same perturbed images as its members.
        seed: image i's noise is drawn with seed + i (the same whatever the batch size).
        max_side: shrink photos so the long side is at most this before perturbing (blur radii and rotations
            are in pixels of that image); None: as stored.
    Returns a long table: kind, level, model, accuracy, weighted_f1, macro_f1, mean_confidence.
    """
    from tqdm.auto import tqdm

    from lib.vision.images import iter_image_batches

    perts = list(perturbations)
    identity = [_is_identity(p) for p in perts]
    y = np.asarray(y)
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in perts]
    n_batches = -(-len(images) // batch_size)
    with tqdm(total=n_batches * len(perts), desc="robustness", disable=not progress) as bar:
        for idx, batch in iter_image_batches(images, batch_size, max_side, num_workers):
            clean = None  # the identity conditions are the same clean images: predict them once per batch
            for j, pert in enumerate(perts):
                if identity[j] and clean is not None:
                    probas = clean
                else:
                    probas = predict_members([pert.apply(im, seed + i) for i, im in zip(idx, batch)])
                    if identity[j]:
                        clean = probas
                for name, p in probas.items():
                    parts[j].setdefault(name, []).append(np.asarray(p))
                bar.update()
    rows = []
    for pert, by_model in zip(perts, parts):
        for name, chunks in by_model.items():
            p = np.concatenate(chunks)
            rows.append({"kind": pert.kind, "level": pert.level, "model": name,
                         **classification_scores(y, p.argmax(1)), "mean_confidence": float(p.max(1).mean())})
    return pd.DataFrame(rows)


def plot_robustness(table: pd.DataFrame, metric: str = "accuracy", title: str = "Robustness"):
    """One panel per perturbation kind: `metric` against the level, one line per model."""
    import matplotlib.pyplot as plt

    kinds = [k for k in ("rotation", "noise", "blur") if k in set(table["kind"])]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        sub = table[table["kind"] == kind]
        for name, g in sub.groupby("model", sort=False):
            g = g.sort_values("level")
            style = "k-o" if name == "vote" else "-o"
            ax.plot(g["level"], g[metric], style, ms=3, lw=2.2 if name == "vote" else 1.3, label=name)
        ax.set(xlabel=UNITS[kind], ylabel=f"{metric} (test subset)", title=f"{title}: {kind}", ylim=(0, 1.02))
        if kind == "rotation":
            ax.set_xticks(np.arange(0, 361, 60))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def automation_curve(probas: Mapping[str, np.ndarray], y: Sequence[int],
                     thresholds: Sequence[float] = tuple(np.round(np.arange(0.3, 1.0, 0.05), 2))) -> pd.DataFrame:
    """Automation rate and accuracy on automated items for each model across confidence thresholds."""
    y = np.asarray(y)
    rows = []
    for name, p in probas.items():
        p = np.asarray(p)
        conf, ok = p.max(1), p.argmax(1) == y
        for t in thresholds:
            auto = conf >= t
            rows.append({"model": name, "threshold": float(t), "automation_rate": float(auto.mean()),
                         "accuracy_automated": float(ok[auto].mean()) if auto.any() else float("nan")})
    return pd.DataFrame(rows)


def plot_automation(curve: pd.DataFrame, threshold: float = 0.8):
    """Automation rate and accuracy of the automated items against the confidence threshold."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, g in curve.groupby("model", sort=False):
        style = "k-o" if name == "vote" else "-o"
        axes[0].plot(g["threshold"], g["automation_rate"], style, ms=3, label=name)
        axes[1].plot(g["threshold"], g["accuracy_automated"], style, ms=3, label=name)
    for ax, ylab in zip(axes, ("share of test items automated", "accuracy on automated items")):
        ax.axvline(threshold, color="grey", ls="--", lw=1)
        ax.set(xlabel="confidence threshold (top-class probability)", ylabel=ylab, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].set_title("Automation rate vs threshold")
    axes[1].set_title("Accuracy of what is automated")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
