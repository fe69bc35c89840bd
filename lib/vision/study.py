"""Glue for notebook 05: image splits from the product frame, score tables, training-curve plot."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.ensemble.voting import automation_rate
from lib.vision.classifiers import classification_scores


@dataclass
class ImageSplit:
    """The listings of one split that have a readable photo, with their label indices."""

    ids: list[str]
    paths: list[str]
    y: np.ndarray
    n_without_image: int

    def __len__(self) -> int:
        return len(self.ids)


def image_split(df: pd.DataFrame, labels: Sequence[str]) -> ImageSplit:
    """Keep rows whose `image_path` is set (the loader sets None for missing/unreadable photos) and count the rest."""
    index = {c: i for i, c in enumerate(labels)}
    unknown = sorted(set(df["label"]) - set(index))
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not in the class list")
    has = df["image_path"].notna().to_numpy()
    sub = df[has]
    return ImageSplit(sub["id"].astype(str).tolist(), sub["image_path"].astype(str).tolist(),
                      np.array([index[c] for c in sub["label"]], dtype=int), int((~has).sum()))


def feature_paths(img: Mapping[str, ImageSplit]) -> list[str]:
    """Photo paths of train, val and test in that order: the list notebook 05 extracts (and caches) features for."""
    return [p for name in ("train", "val", "test") for p in img[name].paths]


def scores_table(probas: Mapping[str, np.ndarray], y: np.ndarray, threshold: float = 0.8) -> pd.DataFrame:
    """One row per model: accuracy, weighted F1, macro F1, mean confidence, automation rate at `threshold`."""
    rows = []
    for name, p in probas.items():
        p = np.asarray(p)
        auto = automation_rate(p, y, threshold)
        rows.append({"model": name, **classification_scores(y, p.argmax(1)),
                     "mean_confidence": float(p.max(1).mean()),
                     "automation_rate": auto["automation_rate"], "accuracy_automated": auto["accuracy_automated"]})
    return pd.DataFrame(rows)


def plot_history(history: pd.DataFrame, title: str = "Fine-tuning: train vs validation"):
    """Loss and accuracy per epoch for train and validation, the kept (best) epoch marked."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, unit in ((axes[0], "loss", "cross-entropy (nats)"), (axes[1], "accuracy", "accuracy")):
        ax.plot(history["epoch"], history[f"train_{metric}"], "-o",
                label="train (augmented" + ("; class-weighted, smoothed loss)" if metric == "loss" else ")"))
        ax.plot(history["epoch"], history[f"val_{metric}"], "-o", label="validation")
        best = history.loc[history["val_loss"].idxmin(), "epoch"]
        ax.axvline(best, color="grey", ls="--", lw=1, label=f"kept epoch ({int(best)})")
        ax.set(xlabel="epoch", ylabel=unit, title=f"{title}: {metric}")
        ax.set_xticks(history["epoch"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_benchmark(table: pd.DataFrame, split: str = "test", title: str = "Classifiers on backbone features"):
    """Weighted F1 and macro F1 per model on one split, with the fit time in seconds."""
    import matplotlib.pyplot as plt

    d = table[table["split"] == split].sort_values("weighted_f1")
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.5 * len(d) + 2), gridspec_kw={"width_ratios": [2, 1]})
    y = np.arange(len(d))
    axes[0].barh(y - 0.2, d["weighted_f1"], 0.4, label="weighted F1")
    axes[0].barh(y + 0.2, d["macro_f1"], 0.4, label="macro F1")
    for yi, v in zip(y, d["weighted_f1"]):
        axes[0].text(v, yi - 0.2, f" {v:.3f}", va="center", fontsize=8)
    axes[0].set_yticks(y, d["model"])
    axes[0].set(xlabel=f"score on {split} (0–1)", ylabel="model", title=title, xlim=(0, 1.1))
    axes[0].legend(fontsize=8, loc="lower right")
    axes[1].barh(y, d["fit_s"], color="#999")
    axes[1].set_yticks(y, [""] * len(d))
    axes[1].set(xlabel="fit time (s, this CPU)", title="fit time")
    fig.tight_layout()
    return fig


def pick_feature_member(table: pd.DataFrame, exclude: Sequence[str] = ()) -> str:
    """The benchmark model with the best validation weighted F1 (the vote's third member)."""
    d = table[(table["split"] == "val") & (~table["model"].isin(list(exclude)))]
    return str(d.sort_values(["weighted_f1", "fit_s"], ascending=[False, True]).iloc[0]["model"])


SPLITS = ("train", "val", "test")


def split_rows(values: Any, img: Mapping[str, ImageSplit]) -> dict[str, Any]:
    """Cut rows stacked as `feature_paths(img)` stacks them (train, val, test) back into the three splits.

    Works for arrays (features) and lists (OCR texts, paths)."""
    out, start = {}, 0
    for name in SPLITS:
        end = start + len(img[name])
        out[name] = values[start:end]
        start = end
    if start != len(values):
        raise ValueError(f"{len(values)} rows given, the splits hold {start}")
    return out


def member_feature_sets(specs: Sequence[Any], paths: Sequence[str], batch_size: int = 32,
                        extra: Sequence[tuple[str, int, str, bool]] = ()) -> tuple[dict, pd.DataFrame]:
    """One (cached) feature extraction per distinct representation of the vote members (and `extra` ones).

    Returns:
        ({(backbone, size, framing, flip): FeatureSet}, a table of the extractions: dimension, seconds, cache).
    """
    from lib.vision.features import extract_features

    keys = list(dict.fromkeys([*extra, *(s.features for s in specs)]))
    sets, rows = {}, []
    for backbone, size, framing, flip in keys:
        fs = extract_features(paths, backbone, size, batch_size=batch_size, framing=framing, tta_flip=flip)
        if not fs.ok.all():
            raise ValueError(f"{int((~fs.ok).sum())} photos could not be read by {backbone}: a file changed since "
                             "the loader checked it")
        sets[(backbone, size, framing, flip)] = fs
        rows.append({"backbone": backbone, "input_px": size, "framing": framing, "flip_tta": flip,
                     "dim": fs.features.shape[1], "seconds": round(fs.seconds, 1),
                     "cache": "read" if fs.from_cache else "computed", "file": fs.cache_path.name if fs.cache_path else ""})
    return sets, pd.DataFrame(rows)


def member_scores_table(scores_by_split: Mapping[str, pd.DataFrame], describe: Mapping[str, str]) -> pd.DataFrame:
    """One row per member: what it is and its weighted F1 on each split (from `scores_table` outputs)."""
    out = pd.DataFrame({"member": list(describe), "what": list(describe.values())})
    for split, table in scores_by_split.items():
        out[f"{split}_weighted_f1"] = out["member"].map(table.set_index("model")["weighted_f1"])
    return out
