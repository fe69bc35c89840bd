"""Hand-off between the study's notebooks: saved probabilities and fitted models under `models/products/<dataset>/`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lib.core.paths import models_dir


def products_dir(dataset_name: str) -> Path:
    """`models/products/<dataset>/` (created)."""
    path = models_dir() / "products" / dataset_name
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class SavedProbs:
    """Class probabilities of one model on one split, with the listing ids and the column classes."""

    ids: np.ndarray
    proba: np.ndarray
    classes: list[str]

    def align(self, ids: Sequence[str], classes: Sequence[str] | None = None) -> np.ndarray:
        """The probabilities re-ordered to `ids` (and to `classes` columns); raises if an id is absent."""
        pos = {i: k for k, i in enumerate(self.ids.tolist())}
        missing = [i for i in map(str, ids) if i not in pos]
        if missing:
            raise KeyError(f"{len(missing)} ids have no saved probabilities, e.g. {missing[:3]}: "
                           "were they saved from the same data set, split and seed?")
        out = self.proba[[pos[i] for i in map(str, ids)]]
        if classes is not None and list(classes) != self.classes:
            col = {c: k for k, c in enumerate(self.classes)}
            absent = [c for c in classes if c not in col]
            if absent:
                raise KeyError(f"saved probabilities lack classes {absent}")
            out = out[:, [col[c] for c in classes]]
        return out


def probs_path(dataset_name: str, model_name: str, split: str) -> Path:
    """Where `save_probs` writes: `models/products/<dataset>/probs/<model>__<split>.npz`."""
    return products_dir(dataset_name) / "probs" / f"{model_name}__{split}.npz"


def save_probs(dataset_name: str, model_name: str, split: str, ids: Sequence, proba: np.ndarray,
               classes: Sequence[str]) -> Path:
    """Save (n, k) probabilities of `model_name` on `split` (rows = `ids`, columns = `classes`)."""
    proba = np.asarray(proba, dtype=np.float64)
    ids = np.asarray([str(i) for i in ids])
    classes = [str(c) for c in classes]
    if proba.shape != (len(ids), len(classes)):
        raise ValueError(f"proba has shape {proba.shape}, expected ({len(ids)}, {len(classes)})")
    if not np.all(np.isfinite(proba)) or (proba < 0).any():
        raise ValueError("probabilities must be finite and non-negative")
    if not np.allclose(proba.sum(1), 1.0, atol=1e-4):
        raise ValueError("each row of probabilities must sum to 1")
    path = probs_path(dataset_name, model_name, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=ids, proba=proba, classes=np.asarray(classes))
    return path


def load_probs(dataset_name: str, model_name: str, split: str) -> SavedProbs:
    """Load what `save_probs` wrote; a clear error names the notebook to run when it is absent."""
    path = probs_path(dataset_name, model_name, split)
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.npz")) if path.parent.is_dir() else []
        raise FileNotFoundError(f"no saved probabilities {path}: run the notebook that produces "
                                f"{model_name!r} on {dataset_name!r} first (04 for text, 05 for image). "
                                f"Available: {available or 'none'}")
    with np.load(path, allow_pickle=False) as z:
        return SavedProbs(ids=z["ids"].astype(str), proba=z["proba"], classes=[str(c) for c in z["classes"]])


def save_model(dataset_name: str, model_name: str, model: Any, **meta: Any) -> Path:
    """Persist a fitted model (joblib) as `models/products/<dataset>/<model>.joblib` with its metadata."""
    import joblib

    path = products_dir(dataset_name) / f"{model_name}.joblib"
    joblib.dump({"model": model, "meta": meta}, path)
    return path


def load_model(dataset_name: str, model_name: str) -> tuple[Any, dict]:
    """Load `(model, meta)` saved by `save_model`; FileNotFoundError says which notebook makes it."""
    import joblib

    path = products_dir(dataset_name) / f"{model_name}.joblib"
    if not path.is_file():
        raise FileNotFoundError(f"no saved model {path}: run notebook 04_products_text (text) or "
                                f"05_products_image_voting (image) on {dataset_name!r} first")
    obj = joblib.load(path)
    return obj["model"], obj.get("meta", {})


def save_labels(dataset_name: str, split: str, ids: Sequence, labels: Sequence) -> Path:
    """True labels of a split by id (`probs/labels__<split>.json`): the app's performance page needs them."""
    path = products_dir(dataset_name) / "probs" / f"labels__{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    import json

    path.write_text(json.dumps({str(i): str(l) for i, l in zip(ids, labels)}))
    return path


def load_labels(dataset_name: str, split: str) -> dict[str, str]:
    """What `save_labels` wrote (FileNotFoundError when absent)."""
    import json

    path = products_dir(dataset_name) / "probs" / f"labels__{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no saved labels {path}: run notebook 04_products_text on {dataset_name!r}")
    return json.loads(path.read_text())
