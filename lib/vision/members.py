"""Members of the image vote that differ: backbone, input size, framing, augmentation and classifier family.

The original study's vote reached its gain with members whose errors rarely coincide (DINOv3 + MLP, XGBoost
on ResNet features, a fine-tuned EfficientNet; error correlation < 0.45). Offline, diversity comes from what
exists: EfficientNet-Lite0/1/2 (other depths and resolutions), letterbox vs centre-crop framing, flip TTA,
and different classifier families on the features. A member is described by a `MemberSpec` (a plain dict in
the notebook's parameters); members that share a representation share one cached feature extraction.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from lib.vision.classifiers import BENCHMARK_MODELS, FeatureMLP, MLPConfig, make_feature_model

MEMBER_MODELS = BENCHMARK_MODELS + ("mlp",)


@dataclass(frozen=True)
class MemberSpec:
    """One feature member: which features (backbone, input size, framing, flip TTA) and which classifier."""

    name: str
    backbone: str
    input_size: int
    model: str = "logreg"
    framing: str = "letterbox"
    flip: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MemberSpec":
        """Build from a parameter dict; unknown keys, a missing key or an unknown model are clear errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"vote member {dict(d)}: unknown keys {unknown}; allowed: {sorted(known)}")
        missing = [k for k in ("name", "backbone", "input_size") if k not in d]
        if missing:
            raise ValueError(f"vote member {dict(d)}: missing {missing}")
        spec = cls(**{**d, "input_size": int(d["input_size"]), "flip": bool(d.get("flip", False))})
        if spec.model not in MEMBER_MODELS:
            raise ValueError(f"vote member {spec.name!r}: unknown model {spec.model!r}; choose from {MEMBER_MODELS}")
        from lib.core.registry import FRAMINGS

        if spec.framing not in FRAMINGS:
            raise ValueError(f"vote member {spec.name!r}: framing must be one of {FRAMINGS}, got {spec.framing!r}")
        return spec

    @property
    def features(self) -> tuple[str, int, str, bool]:
        """The representation: members with the same tuple share one (cached) extraction."""
        return (self.backbone, self.input_size, self.framing, self.flip)

    def describe(self) -> str:
        return (f"{self.model} on {self.backbone} @ {self.input_size}px, {self.framing}"
                + (" + flip TTA" if self.flip else ""))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_members(dicts: Sequence[Mapping[str, Any]]) -> list[MemberSpec]:
    """`MemberSpec`s from the notebook's parameter list; names must be unique."""
    specs = [MemberSpec.from_dict(d) for d in dicts]
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"vote member names must be unique, repeated: {dup}")
    if not specs:
        raise ValueError("no vote members given")
    return specs


class HoldoutMLP:
    """The feature MLP with early stopping on a stratified part of the rows it is fitted on.

    Self-contained, like an sklearn estimator: the epoch is chosen without the validation split (which the
    vote's weights are chosen on) and without any row outside `fit`'s input, so the same member can be refitted
    inside nested cross-validation.
    """

    def __init__(self, config: MLPConfig | None = None, seed: int = 42, holdout: float = 0.15,
                 n_classes: int | None = None):
        self.config, self.seed, self.holdout, self.n_classes = config or MLPConfig(), seed, holdout, n_classes

    def fit(self, X: np.ndarray, y: np.ndarray) -> "HoldoutMLP":
        from sklearn.model_selection import train_test_split

        y = np.asarray(y, dtype=int)
        k = int(self.n_classes or y.max() + 1)
        counts = np.bincount(y, minlength=k)
        present = int((counts > 0).sum())
        n_hold = max(1, int(round(self.holdout * len(y))))
        # a stratified hold-out needs a row of every class on both sides; on a few rows (the smoke profile's
        # inner folds) it is drawn at random instead
        stratify = y if counts[counts > 0].min() >= 2 and present <= n_hold <= len(y) - present else None
        tr, va = train_test_split(np.arange(len(y)), test_size=n_hold, random_state=self.seed, stratify=stratify)
        self.mlp_ = FeatureMLP(self.config, self.seed).fit(X[tr], y[tr], X[va], y[va], n_classes=k)
        self.classes_ = np.arange(k)
        self.history = self.mlp_.history
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.mlp_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(1)


def make_member_model(spec: MemberSpec, seed: int = 42, fast: bool = False, n_classes: int | None = None,
                      mlp: MLPConfig | None = None, n_rows: int | None = None) -> Any:
    """A fresh classifier for a member (sklearn-like: fit / predict_proba / classes_)."""
    if spec.model == "mlp":
        return HoldoutMLP(mlp or MLPConfig(epochs=20 if fast else 60), seed, n_classes=n_classes)
    pca = 128 if n_rows is None else max(2, min(128, n_rows - 1))
    return make_feature_model(spec.model, seed, fast=fast, pca_dim=pca)


def fit_feature_members(specs: Sequence[MemberSpec], feats: Mapping[tuple, Any], img: Mapping[str, Any],
                        y: Mapping[str, np.ndarray], seed: int = 42, fast: bool = False,
                        n_classes: int | None = None, mlp: MLPConfig | None = None
                        ) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Fit every feature member on the training photos of its own representation.

    Args:
        feats: representation → `FeatureSet` over the photos stacked as `feature_paths(img)` stacks them.
        img / y: the splits' `ImageSplit`s and class indices.

    Returns:
        (name → fitted model, {"val": {name: probabilities}, "test": {...}}).
    """
    from lib.vision.study import split_rows

    models: dict[str, Any] = {}
    probas: dict[str, dict[str, np.ndarray]] = {"val": {}, "test": {}}
    for s in specs:
        X = split_rows(feats[s.features].features, img)
        models[s.name] = make_member_model(s, seed, fast=fast, n_classes=n_classes, mlp=mlp,
                                           n_rows=len(y["train"])).fit(X["train"], y["train"])
        for split in probas:
            probas[split][s.name] = models[s.name].predict_proba(X[split])
    return models, probas


def cv_members(specs: Sequence[MemberSpec], feats: Mapping[tuple, Any], y: np.ndarray, seed: int = 42,
               fast: bool = False, n_classes: int | None = None, mlp: MLPConfig | None = None,
               ocr_texts: Sequence[str] | None = None, ocr_name: str = "ocr") -> dict[str, Any]:
    """The members as `(train rows, scored rows) → probabilities` callables over every photo, for
    `nested_vote_cv`; with `ocr_texts`, the OCR member too (an `OcrTextClassifier` on each photo's text)."""
    from lib.ensemble.vote_cv import proba_member

    k = int(n_classes or np.max(y) + 1)
    out = {s.name: proba_member(lambda s=s: make_member_model(s, seed, fast=fast, n_classes=k, mlp=mlp,
                                                              n_rows=len(y)),
                                feats[s.features].features, y, k) for s in specs}
    if ocr_texts is not None:
        from lib.vision.ocr import OcrTextClassifier

        out[ocr_name] = proba_member(lambda: OcrTextClassifier(seed=seed, n_classes=k), list(ocr_texts), y, k)
    return out
