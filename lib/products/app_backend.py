"""What the Streamlit demo (apps/products_demo.py) calls: find and load the notebooks' artefacts, predict one listing.

Kept out of the app script so it is unit-tested and the app stays a thin layout.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lib.core.paths import metrics_dir, models_dir
from lib.ensemble.fusion import fuse
from lib.evaluation.calibration import apply_temperature
from lib.products.artifacts import load_model, load_probs
from lib.products.fusion_study import load_fusion_config
from lib.products.text import join_fields

NOTEBOOKS = {"text": "04_products_text", "image": "05_products_image_voting", "fusion": "06_products_fusion"}


def available_datasets() -> list[str]:
    """Data sets with a saved text model (`models/products/<name>/text_model.joblib`), demo first."""
    root = models_dir() / "products"
    names = sorted(p.parent.name for p in root.glob("*/text_model.joblib")) if root.is_dir() else []
    return sorted(names, key=lambda n: (n != "demo", n))


def load_text_model(dataset: str) -> tuple[Any, dict]:
    """(CalibratedTextModel, meta) saved by notebook 04."""
    return load_model(dataset, "text_model")


def load_image_model(dataset: str) -> Any:
    """The image vote saved by notebook 05 (through lib.vision.predict); FileNotFoundError names the notebook."""
    try:
        from lib.vision.predict import load_image_classifier
    except ImportError as err:  # the image side is optional for the text-only demo
        raise FileNotFoundError(f"the image model code (lib.vision) cannot be imported: {err}") from err
    return load_image_classifier(dataset)


def fusion_settings(dataset: str) -> dict:
    """alpha and image temperature from notebook 06, or defaults (a = 0.5, T = 1) with `found=False`."""
    try:
        cfg = load_fusion_config(dataset)
        return {**cfg, "found": True}
    except FileNotFoundError:
        return {"alpha": 0.5, "image_temperature": 1.0, "found": False}


def read_metrics(notebook: str) -> dict | None:
    """`reports/metrics/<notebook>.json`, or None when the notebook has not run."""
    path = metrics_dir() / f"{notebook}.json"
    return json.loads(path.read_text()) if path.is_file() else None


@dataclass
class ImageMembers:
    """What the image vote says about one photo: each member's probabilities, the vote's, and the OCR text."""

    classes: list[str]  # the image model's class order (columns of `probas`)
    probas: dict[str, np.ndarray]  # member name → (k,) probabilities, and "vote"
    weights: dict[str, float]  # the vote's member weights (chosen on validation by notebook 05)
    ks: dict[str, float]  # the vote's sharpening exponents p^k / Σ p^k
    ocr_text: str | None  # what Tesseract reads on the photo; None when it could not run
    ocr_note: str = ""  # why there is no OCR text, or "" when it ran

    def aligned(self, name: str, classes: list[str]) -> np.ndarray:
        """One member's (or "vote"'s) probabilities in the order of `classes`."""
        col = [self.classes.index(c) for c in classes]
        return np.asarray(self.probas[name], dtype=np.float64)[col]


def image_members(image_model: Any, image: Any) -> ImageMembers:
    """Run notebook 05's vote (`predict_with_members`) on one PIL image and read its text with Tesseract.

    Raises what the vote raises (e.g. `OCRUnavailable` when its OCR member needs a Tesseract that is absent).
    """
    image = image.convert("RGB")
    probas = {name: np.asarray(p, dtype=np.float64)[0] for name, p in image_model.predict_with_members([image]).items()}
    vote = image_model.vote
    # the OCR member reads the photo inside the vote too; read again here to show the text (~0.3 s, cached by the app)
    try:
        ocr_text, note = image_model.ocr_texts([image])[0], ""
    except (ImportError, RuntimeError) as err:  # OCRUnavailable (no Tesseract) is a RuntimeError
        ocr_text, note = None, str(err)
    return ImageMembers(list(image_model.classes), probas, dict(zip(vote.members, map(float, vote.weights))),
                        dict(zip(vote.members, map(float, vote.ks))), ocr_text, note)


def members_table(members: ImageMembers, classes: list[str] | None = None, top: int = 5) -> pd.DataFrame:
    """Members × the vote's `top` classes: one row per member and one for the vote, with weight and exponent k.

    Columns: member, weight, k (NaN on the vote's row), member's top class, then one probability column per
    class (the vote's most probable classes, or `classes` when given).
    """
    vote = members.probas["vote"]
    shown = list(classes) if classes is not None else [members.classes[i] for i in np.argsort(-vote)[:top]]
    rows = []
    for name in [*members.weights, "vote"]:
        p = members.probas[name]
        row = {"member": name, "weight": members.weights.get(name, np.nan), "k": members.ks.get(name, np.nan),
               "top class": members.classes[int(np.argmax(p))]}
        row.update({c: float(p[members.classes.index(c)]) for c in shown})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class ListingPrediction:
    """Per-modality and fused probabilities for one listing (None where a modality is absent)."""

    classes: list[str]
    p_text: np.ndarray | None
    p_image: np.ndarray | None
    p_fused: np.ndarray
    status: str  # "both", "text only", "image only", "none"
    members: ImageMembers | None = None  # the image vote's members, when the image model is notebook 05's vote

    def top(self, which: str = "fused", k: int = 3) -> list[tuple[str, float]]:
        """The k most probable classes of one of "text", "image", "fused"."""
        p = {"text": self.p_text, "image": self.p_image, "fused": self.p_fused}[which]
        if p is None:
            return []
        order = np.argsort(-p)[:k]
        return [(self.classes[i], float(p[i])) for i in order]


def predict_listing(text_model: Any, image_model: Any | None, designation: str, description: str,
                    image: Any | None, alpha: float, image_temperature: float = 1.0,
                    members: ImageMembers | None = None) -> ListingPrediction:
    """Classify one listing from its text and/or photo; a missing modality leaves the other one alone.

    Args:
        text_model: a CalibratedTextModel (notebook 04).
        image_model: notebook 05's vote (`predict_with_members`, `ocr_texts`, `classes`), any object with
            `predict_proba(list of PIL images)` and `classes`, or None.
        image: a PIL image or None.
        alpha: weight of the image in the fusion.
        image_temperature: the temperature notebook 06 fitted on the image probabilities.
        members: `image_members(image_model, image)` already computed (the app caches it per photo).
    """
    classes = list(text_model.classes)
    text = join_fields(designation, description)
    p_text = text_model.predict_proba([text])[0] if text else None
    p_image = None
    if image is not None and (image_model is not None or members is not None):
        if members is None and hasattr(image_model, "predict_with_members"):
            members = image_members(image_model, image)
        if members is not None:
            raw = members.aligned("vote", classes)[None]
        else:
            raw = np.asarray(image_model.predict_proba([image.convert("RGB")]), dtype=np.float64)
            raw = raw[:, [list(image_model.classes).index(c) for c in classes]]
        p_image = apply_temperature(np.log(np.clip(raw, 1e-12, 1.0)), image_temperature)[0]
    k = len(classes)
    pi = np.full((1, k), np.nan) if p_image is None else p_image[None]
    pt = np.full((1, k), np.nan) if p_text is None else p_text[None]
    fused = fuse(pi, pt, alpha)[0]
    status = {(True, True): "both", (True, False): "text only", (False, True): "image only",
              (False, False): "none"}[(p_text is not None, p_image is not None)]
    return ListingPrediction(classes, p_text, p_image, fused, status, members if p_image is not None else None)


def saved_test_predictions(dataset: str, alpha: float, image_temperature: float = 1.0
                           ) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Saved test probabilities → {"text"|"image"|"fusion": (true labels, predicted labels)} for the confusion matrix.

    None when notebook 04 has not saved its test probabilities and labels; "image" and "fusion" only when
    notebook 05 saved the vote's (the image rows are those with a photo).
    """
    from lib.ensemble.fusion import align_probs
    from lib.products.artifacts import load_labels

    try:
        t = load_probs(dataset, "text", "test")
        truth = load_labels(dataset, "test")
    except FileNotFoundError:
        return None
    y = np.array([truth[i] for i in t.ids])
    out = {"text": (y, np.array([t.classes[i] for i in t.proba.argmax(1)]))}
    try:
        im = load_probs(dataset, "image_vote", "test")
    except FileNotFoundError:
        return out
    p_img = align_probs(im.ids, im.proba[:, [im.classes.index(c) for c in t.classes]], t.ids)
    ok = ~np.isnan(p_img).any(1)
    p_img[ok] = apply_temperature(np.log(np.clip(p_img[ok], 1e-12, 1.0)), image_temperature)
    out["image"] = (y[ok], np.array([t.classes[i] for i in p_img[ok].argmax(1)]))
    fused = fuse(p_img, t.proba, alpha)
    out["fusion"] = (y, np.array([t.classes[i] for i in fused.argmax(1)]))
    return out
