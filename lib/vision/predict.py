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


class ImageVoteClassifier:
    """`predict_proba(list of PIL images)` → the vote's (n, k) probabilities; `member_probas` gives each member's.

    `feature_framing` and `feature_tta_flip` must be those the feature members' training features were
    extracted with (`extract_features`' defaults: letterbox, no flip)."""

    def __init__(self, classes: Sequence[str], cnn: CNNClassifier | None, feature_members: Mapping[str, Any],
                 vote: SoftVote, feature_backbone: str = "efficientnet-lite0", feature_input_size: int = 224,
                 feature_framing: str = "letterbox", feature_tta_flip: bool = False):
        from lib.core.registry import FRAMINGS

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
        self._backbone: Any = None
        needed = set(vote.members) - set(self.feature_members) - ({CNN_MEMBER} if cnn is not None else set())
        if needed:
            raise ValueError(f"the vote uses members {sorted(needed)} that were not given")

    def backbone(self) -> Any:
        """The feature extractor (loaded once, through the registry)."""
        if self._backbone is None:
            from lib.core.registry import load_image_backbone

            self._backbone = load_image_backbone(self.feature_backbone, num_classes=0,
                                                 input_size=self.feature_input_size)
        return self._backbone

    def features(self, images: Sequence[Any]) -> np.ndarray:
        """Backbone features of PIL images (same preprocessing as the cached training features)."""
        from lib.vision.features import features_of_images

        return features_of_images([im.convert("RGB") for im in images], self.backbone(),
                                  framing=self.feature_framing, tta_flip=self.feature_tta_flip)

    def member_probas(self, images: Sequence[Any]) -> dict[str, np.ndarray]:
        """Each member's probabilities (columns in `classes` order) for PIL images."""
        images = list(images)
        out: dict[str, np.ndarray] = {}
        used_features = [m for m in self.vote.members if m != CNN_MEMBER]
        if used_features:
            X = self.features(images)
            for name in used_features:
                out[name] = np.asarray(self.feature_members[name].predict_proba(X), dtype=np.float64)
        if CNN_MEMBER in self.vote.members:
            out[CNN_MEMBER] = self.cnn.predict_proba(images)  # type: ignore[union-attr]
        return out

    def predict_with_members(self, images: Sequence[Any]) -> dict[str, np.ndarray]:
        """Members' probabilities plus the vote's under the key "vote"."""
        probas = self.member_probas(images)
        probas["vote"] = self.vote.predict_proba(probas)
        return probas

    def predict_proba(self, images: Sequence[Any]) -> np.ndarray:
        """The vote's probabilities for a list of PIL images."""
        return self.vote.predict_proba(self.member_probas(images))

    def predict(self, images: Sequence[Any]) -> list[str]:
        """Predicted class names."""
        return [self.classes[i] for i in self.predict_proba(images).argmax(1)]


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
        elif isinstance(clf.feature_members[name], FeatureMLP):
            torch.save(clf.feature_members[name].state(), folder / f"{name}.mlp.pt")
            members[name] = f"{name}.mlp.pt"
        else:
            joblib.dump(clf.feature_members[name], folder / f"{name}.joblib")
            members[name] = f"{name}.joblib"
    meta = {"classes": clf.classes, "vote": clf.vote.as_dict(), "members": members,
            "feature_backbone": clf.feature_backbone, "feature_input_size": clf.feature_input_size,
            "feature_framing": clf.feature_framing, "feature_tta_flip": clf.feature_tta_flip,
            **(dict(extra) if extra else {})}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=float))
    return folder


def load_image_classifier(dataset_name: str) -> ImageVoteClassifier:
    """Load what notebook 05 saved for `dataset_name` ("demo", "flipkart", ...)."""
    import joblib
    import torch

    folder = image_model_dir(dataset_name)
    meta = image_model_meta(dataset_name)
    cnn, feature_members = None, {}
    for name, fname in meta["members"].items():
        path = folder / fname
        if name == CNN_MEMBER:
            cnn = CNNClassifier.from_state(torch.load(path, map_location="cpu", weights_only=False))
        elif fname.endswith(".mlp.pt"):
            feature_members[name] = FeatureMLP.from_state(torch.load(path, map_location="cpu", weights_only=False))
        else:
            feature_members[name] = joblib.load(path)
    # a meta.json written before framing was recorded comes from centre-cropped features without flips
    return ImageVoteClassifier(meta["classes"], cnn, feature_members, SoftVote.from_dict(meta["vote"]),
                               meta["feature_backbone"], meta["feature_input_size"],
                               meta.get("feature_framing", "center_crop"), bool(meta.get("feature_tta_flip", False)))


def image_model_meta(dataset_name: str) -> dict:
    """`meta.json` of notebook 05's saved vote (classes, members, feature backbone, input size, framing, flip TTA)."""
    path = image_model_dir(dataset_name) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"no image classifier in {path.parent}: run notebook 05_products_image_voting on "
                                f"{dataset_name!r} first")
    return json.loads(path.read_text())
