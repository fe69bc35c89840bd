"""Glue for notebook 06: gather the saved text/image probabilities, calibrate the image side, score the fusion."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from lib.ensemble.fusion import align_probs, fuse, modality_status
from lib.evaluation.calibration import apply_temperature, expected_calibration_error, fit_temperature, nll
from lib.products.artifacts import load_probs, products_dir
from lib.products.text_model import scores


@dataclass
class Modalities:
    """One split: ids, true class indices and each modality's probabilities (NaN rows where absent)."""

    ids: list[str]
    y: np.ndarray
    p_text: np.ndarray
    p_image: np.ndarray
    text_present: np.ndarray
    image_present: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def gather(dataset_name: str, split_df: pd.DataFrame, split: str, classes: Sequence[str], text_model: str = "text",
           image_model: str = "image_vote") -> Modalities:
    """Align the saved probabilities of both modalities on a split's rows.

    Raises:
        FileNotFoundError: a notebook's probabilities are absent (names the notebook).
        ValueError: ids do not match (04/05 were run on another subsample): a row with text but no text
            probability, or a row with a readable photo but no image probability.
    """
    ids = split_df["id"].astype(str).tolist()
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in split_df["label"]])
    t = load_probs(dataset_name, text_model, split)
    im = load_probs(dataset_name, image_model, split)
    for name, saved in (("text", t), ("image", im)):
        if sorted(saved.classes) != sorted(classes):
            raise ValueError(f"the {name} probabilities are over classes {saved.classes}, the data has {list(classes)}: "
                             "rerun notebooks 04 and 05 on the same data set")
    col_t = [t.classes.index(c) for c in classes]
    col_i = [im.classes.index(c) for c in classes]
    p_text = align_probs(t.ids, t.proba[:, col_t], ids)
    p_image = align_probs(im.ids, im.proba[:, col_i], ids)
    lacking_text = int(np.isnan(p_text).any(1).sum())
    if lacking_text:
        raise ValueError(f"{lacking_text} {split} rows have no text probabilities: rerun notebook 04 with the same "
                         "DATA_DIR, DATASET, SEED and MAX_ROWS as this notebook")
    has_photo = split_df["image_path"].notna().to_numpy()
    lacking_image = int((has_photo & np.isnan(p_image).any(1)).sum())
    if lacking_image:
        raise ValueError(f"{lacking_image} {split} rows with a readable photo have no image probabilities: rerun "
                         "notebook 05 with the same DATA_DIR, DATASET, SEED and MAX_ROWS as this notebook")
    text_present = (split_df["text"].fillna("").str.strip() != "").to_numpy()
    image_present = ~np.isnan(p_image).any(1)
    return Modalities(ids, y, p_text, p_image, text_present, image_present)


def calibrate_image(val: Modalities, test: Modalities) -> tuple[float, pd.DataFrame]:
    """Temperature-scale the image probabilities (fit on validation rows with a photo); returns T and a table.

    The vote's probabilities are already sharpened/weighted on validation; this puts them on the same
    footing as the calibrated text probabilities before the weighted sum.
    """
    ok = val.image_present
    if ok.sum() < 2:
        return 1.0, pd.DataFrame()
    logp_val = np.log(np.clip(val.p_image[ok], 1e-12, 1.0))
    T = fit_temperature(logp_val, val.y[ok])
    rows = []
    for name, m in (("validation (fit)", val), ("test", test)):
        o = m.image_present
        lp = np.log(np.clip(m.p_image[o], 1e-12, 1.0))
        before, after = apply_temperature(lp, 1.0), apply_temperature(lp, T)
        rows.append({"split": name, "nll_before": nll(before, m.y[o]), "nll_after": nll(after, m.y[o]),
                     "ece_before": expected_calibration_error(before, m.y[o]),
                     "ece_after": expected_calibration_error(after, m.y[o])})
    for m in (val, test):
        o = m.image_present
        m.p_image[o] = apply_temperature(np.log(np.clip(m.p_image[o], 1e-12, 1.0)), T)
    return float(T), pd.DataFrame(rows)


def _row(name: str, y: np.ndarray, p: np.ndarray, rows: np.ndarray, answered: np.ndarray) -> dict:
    # an unanswered row counts as an error: a wrong real class, not an invented one (macro F1 stays over real classes)
    pred = np.where(answered, p.argmax(1), (y + 1) % p.shape[1])
    return {"model": name, "rows": int(rows.sum()), "answered": int((answered & rows).sum()),
            **scores(y[rows], pred[rows])}


def comparison_table(m: Modalities, alpha: float) -> pd.DataFrame:
    """Text / image / fusion on (a) test rows with both modalities and (b) all test rows.

    On all rows a model that cannot answer (image model without a photo) scores the row as an error;
    the fusion answers every row from whatever modality is present.
    """
    fused = fuse(m.p_image, m.p_text, alpha, m.image_present, m.text_present)
    both = m.image_present & m.text_present
    every = np.ones(len(m), bool)
    p_img = np.nan_to_num(m.p_image, nan=0.0)
    out = []
    for subset, rows in (("both modalities", both), ("all rows", every)):
        for r in (_row("text", m.y, m.p_text, rows, m.text_present), _row("image", m.y, p_img, rows, m.image_present),
                  _row(f"fusion (a={alpha:.2f})", m.y, fused, rows, np.ones(len(m), bool))):
            out.append({"subset": subset, **r})
    return pd.DataFrame(out)


def missing_modality_scenarios(m: Modalities, alpha: float, drop_rate: float = 0.3, seed: int = 42) -> pd.DataFrame:
    """The fusion's weighted F1 when images or texts go missing (at random on `drop_rate` of rows, or all)."""
    rng = np.random.default_rng(seed)
    drop = rng.random(len(m)) < drop_rate
    scenarios = {
        "as observed": (m.image_present, m.text_present),
        f"{drop_rate:.0%} of images removed": (m.image_present & ~drop, m.text_present),
        f"{drop_rate:.0%} of texts emptied": (m.image_present, m.text_present & ~drop),
        "no image at all": (np.zeros(len(m), bool), m.text_present),
        "no text at all": (m.image_present, np.zeros(len(m), bool)),
    }
    rows = []
    for name, (img_ok, txt_ok) in scenarios.items():
        p = fuse(m.p_image, m.p_text, alpha, img_ok, txt_ok)
        status = pd.Series(modality_status(m.p_image, m.p_text, img_ok, txt_ok)).value_counts()
        rows.append({"scenario": name, **scores(m.y, p.argmax(1)),
                     **{f"rows_{k.replace(' ', '_')}": int(status.get(k, 0))
                        for k in ("both", "text only", "image only", "none")}})
    return pd.DataFrame(rows)


def save_fusion_config(dataset_name: str, alpha: float, image_temperature: float, classes: Sequence[str],
                       **extra: object) -> Path:
    """`models/products/<dataset>/fusion.json`: what the app needs to fuse like notebook 06."""
    path = products_dir(dataset_name) / "fusion.json"
    path.write_text(json.dumps({"alpha": alpha, "image_temperature": image_temperature, "classes": list(classes),
                                **extra}, indent=2, default=float))
    return path


def load_fusion_config(dataset_name: str) -> dict:
    """Read `fusion.json`; FileNotFoundError names notebook 06."""
    path = products_dir(dataset_name) / "fusion.json"
    if not path.is_file():
        raise FileNotFoundError(f"no fusion settings {path}: run notebook 06_products_fusion on {dataset_name!r}")
    return json.loads(path.read_text())

