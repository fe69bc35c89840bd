"""The image vote as one object: fine-tuned CNN + classifiers on backbone features + soft vote.
Saved under `models/products/<dataset>/image_vote/`; `load_image_classifier(dataset)` is what the app calls."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from lib.core.paths import models_dir
from lib.ensemble.voting import SoftVote
from lib.vision.classifiers import FeatureMLP
from lib.vision.finetune import CNNClassifier

CNN_MEMBER = "cnn"
OCR_MEMBER = "ocr"


class ImageVoteClassifier:
    """`predict_proba(image paths or PIL images)` → the vote's (n, k) probabilities; `member_probas` gives each
    member's. Paths are decoded once per batch (`batch_size` images in memory), and each decoded batch feeds
    every feature extractor, the CNN and the OCR.

    Feature members may sit on different representations (`member_specs`: backbone, input size, framing, flip
    TTA); members without a spec use `feature_backbone` / `feature_input_size` / `feature_framing` /
    `feature_tta_flip`, which must be those their training features were extracted with. The OCR member
    (`ocr_member`, fitted on OCR text) reads each photo with Tesseract using `ocr_settings`."""

    def __init__(self, classes: Sequence[str], cnn: CNNClassifier | None, feature_members: Mapping[str, Any],
                 vote: SoftVote, feature_backbone: str = "efficientnet-lite0", feature_input_size: int = 224,
                 feature_framing: str = "letterbox", feature_tta_flip: bool = False,
                 member_specs: Mapping[str, Any] | None = None, ocr_member: Any = None,
                 ocr_settings: Mapping[str, Any] | None = None):
        from lib.core.registry import FRAMINGS
        from lib.vision.members import MemberSpec

        if feature_framing not in FRAMINGS:
            raise ValueError(f"feature_framing must be one of {FRAMINGS}, got {feature_framing!r}")
        self.classes = list(classes)
        self.cnn = cnn
        self.feature_members = dict(feature_members)
        self.vote = vote
        self.feature_backbone = feature_backbone
        self.feature_input_size = int(feature_input_size)
        self.feature_framing = feature_framing
        self.feature_tta_flip = bool(feature_tta_flip)
        specs = dict(member_specs or {})
        self.member_specs = {name: specs.get(name) or MemberSpec(name, feature_backbone, self.feature_input_size,
                                                                 framing=feature_framing, flip=self.feature_tta_flip)
                             for name in self.feature_members}
        self.ocr_member = ocr_member
        self.ocr_settings = dict(ocr_settings or {})
        self._backbones: dict[tuple[str, int], Any] = {}
        given = set(self.feature_members) | ({CNN_MEMBER} if cnn is not None else set()) | (
            {OCR_MEMBER} if ocr_member is not None else set())
        needed = set(vote.members) - given
        if needed:
            raise ValueError(f"the vote uses members {sorted(needed)} that were not given")

    @property
    def representations(self) -> list[tuple[str, int, str, bool]]:
        """The distinct (backbone, input size, framing, flip) the vote's feature members need."""
        return list(dict.fromkeys(self.member_specs[m].features for m in self.vote.members
                                  if m in self.feature_members))

    def backbone(self, name: str | None = None, input_size: int | None = None) -> Any:
        """A feature extractor (loaded once per backbone and size, through the registry)."""
        from lib.core.registry import load_image_backbone

        key = (name or self.feature_backbone, int(input_size or self.feature_input_size))
        if key not in self._backbones:
            self._backbones[key] = load_image_backbone(key[0], num_classes=0, input_size=key[1])
        return self._backbones[key]

    def features(self, images: Sequence[Any], representation: tuple[str, int, str, bool] | None = None) -> np.ndarray:
        """Backbone features of image paths or PIL images (same preprocessing as the cached training features)."""
        from lib.vision.features import features_of_images

        backbone, size, framing, flip = representation or (self.feature_backbone, self.feature_input_size,
                                                           self.feature_framing, self.feature_tta_flip)
        return features_of_images(images, self.backbone(backbone, size), framing=framing, tta_flip=flip)

    def ocr_texts(self, images: Sequence[Any]) -> list[str]:
        """The text Tesseract reads on each image, with the settings the OCR member was trained on."""
        from concurrent.futures import ThreadPoolExecutor

        from lib.vision.ocr import read_text

        opts = {k: v for k, v in self.ocr_settings.items() if k in ("lang", "min_conf", "psm", "long_side")}
        workers = int(self.ocr_settings.get("workers", 2))
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # Tesseract runs in subprocesses
            return [r.text for r in pool.map(lambda im: read_text(im, **opts), list(images))]

    def _batch_member_probas(self, images: list[Any]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for rep in self.representations:
            X = self.features(images, rep)
            for name in self.vote.members:
                if name in self.feature_members and self.member_specs[name].features == rep:
                    out[name] = np.asarray(self.feature_members[name].predict_proba(X), dtype=np.float64)
        if CNN_MEMBER in self.vote.members:
            out[CNN_MEMBER] = self.cnn.predict_proba(images)  # type: ignore[union-attr]
        if OCR_MEMBER in self.vote.members:
            out[OCR_MEMBER] = np.asarray(self.ocr_member.predict_proba(self.ocr_texts(images)), dtype=np.float64)
        return {name: out[name] for name in self.vote.members}

    def member_probas(self, images: Sequence[Any], batch_size: int = 256,
                      num_workers: int = 0) -> dict[str, np.ndarray]:
        """Each member's probabilities (columns in `classes` order) for image paths or PIL images.

        Args:
            batch_size: images decoded and held at a time (a multiple of the members' inner batch of 32, so
                results do not depend on it).
            num_workers: DataLoader processes decoding ahead.
        Raises ValueError for a missing or unreadable path (filter with `audit_images` first).
        """
        from lib.vision.images import iter_image_batches

        parts: dict[str, list[np.ndarray]] = {}
        for _, batch in iter_image_batches(images, batch_size, num_workers=num_workers):
            for name, p in self._batch_member_probas(batch).items():
                parts.setdefault(name, []).append(p)
        if not parts:  # no images: empty (0, k) arrays
            return {name: np.zeros((0, len(self.classes))) for name in self.vote.members}
        return {name: np.concatenate(ps) for name, ps in parts.items()}

    def predict_with_members(self, images: Sequence[Any], batch_size: int = 256) -> dict[str, np.ndarray]:
        """Members' probabilities plus the vote's under the key "vote"."""
        probas = self.member_probas(images, batch_size)
        probas["vote"] = self.vote.predict_proba(probas)
        return probas

    def predict_proba(self, images: Sequence[Any], batch_size: int = 256) -> np.ndarray:
        """The vote's probabilities for image paths or PIL images."""
        return self.vote.predict_proba(self.member_probas(images, batch_size))

    def predict(self, images: Sequence[Any], batch_size: int = 256) -> list[str]:
        """Predicted class names."""
        return [self.classes[i] for i in self.predict_proba(images, batch_size).argmax(1)]


def image_model_dir(dataset_name: str) -> Path:
    """`models/products/<dataset>/image_vote/`."""
    return models_dir() / "products" / dataset_name / "image_vote"


def save_image_classifier(clf: ImageVoteClassifier, dataset_name: str, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the CNN state dict, the feature members, the vote and the class list; return the folder."""
    import joblib
    import torch

    folder = image_model_dir(dataset_name)
    folder.mkdir(parents=True, exist_ok=True)
    members = {}
    for name in clf.vote.members:
        if name == CNN_MEMBER:
            torch.save(clf.cnn.state(), folder / "cnn.pt")  # type: ignore[union-attr]
            members[name] = "cnn.pt"
        elif name == OCR_MEMBER:
            joblib.dump(clf.ocr_member, folder / "ocr.joblib")
            members[name] = "ocr.joblib"
        elif isinstance(clf.feature_members[name], FeatureMLP):
            torch.save(clf.feature_members[name].state(), folder / f"{name}.mlp.pt")
            members[name] = f"{name}.mlp.pt"
        else:
            joblib.dump(clf.feature_members[name], folder / f"{name}.joblib")
            members[name] = f"{name}.joblib"
    meta = {"classes": clf.classes, "vote": clf.vote.as_dict(), "members": members,
            "feature_backbone": clf.feature_backbone, "feature_input_size": clf.feature_input_size,
            "feature_framing": clf.feature_framing, "feature_tta_flip": clf.feature_tta_flip,
            "member_specs": {name: clf.member_specs[name].as_dict() for name in clf.vote.members
                             if name in clf.feature_members},
            "ocr_settings": clf.ocr_settings if OCR_MEMBER in clf.vote.members else {},
            **(dict(extra) if extra else {})}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=float))
    return folder


def load_image_classifier(dataset_name: str) -> ImageVoteClassifier:
    """Load what notebook 05 saved for `dataset_name` ("demo", "flipkart", ...)."""
    import joblib
    import torch

    folder = image_model_dir(dataset_name)
    meta = image_model_meta(dataset_name)
    from lib.vision.members import MemberSpec

    cnn, feature_members, ocr_member = None, {}, None
    for name, fname in meta["members"].items():
        path = folder / fname
        if name == CNN_MEMBER:
            cnn = CNNClassifier.from_state(torch.load(path, map_location="cpu", weights_only=False))
        elif name == OCR_MEMBER:
            ocr_member = joblib.load(path)
        elif fname.endswith(".mlp.pt"):
            feature_members[name] = FeatureMLP.from_state(torch.load(path, map_location="cpu", weights_only=False))
        else:
            feature_members[name] = joblib.load(path)
    # a meta.json written before framing was recorded comes from centre-cropped features without flips; one
    # written before members had their own representation uses the single feature backbone for all
    specs = {name: MemberSpec.from_dict(d) for name, d in meta.get("member_specs", {}).items()}
    return ImageVoteClassifier(meta["classes"], cnn, feature_members, SoftVote.from_dict(meta["vote"]),
                               meta["feature_backbone"], meta["feature_input_size"],
                               meta.get("feature_framing", "center_crop"), bool(meta.get("feature_tta_flip", False)),
                               member_specs=specs, ocr_member=ocr_member, ocr_settings=meta.get("ocr_settings"))


def image_model_meta(dataset_name: str) -> dict:
    """`meta.json` of notebook 05's saved vote (classes, members, feature backbone, input size, framing, flip TTA)."""
    path = image_model_dir(dataset_name) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"no image classifier in {path.parent}: run notebook 05_products_image_voting on "
                                f"{dataset_name!r} first")
    return json.loads(path.read_text())
