"""Pooled features from a pretrained backbone, batched, with a progress bar and an on-disk cache.

The cache is keyed by backbone name, input size, framing (letterbox or centre crop), test-time augmentation
(horizontal flip or none) and a hash of the image list (paths, sizes and modification times), so every
classifier experiment on the same images and preprocessing reuses one extraction, and nothing extracted with
other preprocessing is reused.

Product photos are letterboxed by default (padded to a square on white, then resized): a centre crop (the
ImageNet way, `framing="center_crop"`) cuts off the ends of elongated products.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lib.core.paths import models_dir
from lib.core.registry import FRAMINGS, load_image_backbone
from lib.vision.images import MISSING, OK, UNREADABLE, ImageListDataset


@dataclass
class FeatureSet:
    """Features for a list of images; rows whose image could not be read are NaN and `ok` is False."""

    features: np.ndarray
    ok: np.ndarray
    status: list[str]
    backbone: str
    input_size: int
    cache_path: Path | None
    from_cache: bool
    seconds: float
    framing: str = "letterbox"
    tta_flip: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return {"n_total": len(self.status), "n_ok": self.status.count(OK),
                "n_missing": self.status.count(MISSING), "n_unreadable": self.status.count(UNREADABLE)}


def image_list_hash(paths: Sequence[str | None]) -> str:
    """A short hash of an ordered image list, including each file's size and mtime (edits invalidate it).

    Paths are made absolute and normalised first, so `../shared/data/x.jpg` given from the project root and
    the same file given from `notebooks/` (papermill's working directory) share one cache entry.
    """
    h = hashlib.sha1()
    for p in paths:
        stat = None
        key = os.path.normpath(os.path.abspath(str(p))) if p else None
        if p:
            try:
                s = Path(p).stat()
                stat = (s.st_size, int(s.st_mtime))
            except OSError:
                stat = None
        h.update(json.dumps([key, stat]).encode())
    return h.hexdigest()[:16]


def _check_framing(framing: str) -> str:
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    return framing


def feature_cache_path(backbone: str, input_size: int, paths: Sequence[str | None], framing: str = "letterbox",
                       tta_flip: bool = False) -> Path:
    """Where the features of this (backbone, input size, framing, augmentation, image list) live under models/:
    `models/features/<backbone>_<size>px_<framing>[_flip]_<hash>.npz`."""
    safe = backbone.replace("/", "_")
    aug = "_flip" if tta_flip else ""
    return (models_dir() / "features"
            / f"{safe}_{int(input_size)}px_{_check_framing(framing)}{aug}_{image_list_hash(paths)}.npz")


def _images_to_tensor_batches(backbone: Any, items: Sequence[Any], batch_size: int, num_workers: int,
                              progress: bool, desc: str, framing: str = "letterbox",
                              tta_flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(features, ok): items (paths or PIL images) are decoded batch by batch; rows of unreadable items are NaN."""
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    ds = ImageListDataset(items, backbone.eval_transform(_check_framing(framing)), backbone.input_size)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    feats = np.full((len(ds), backbone.feature_dim), np.nan, dtype=np.float32)
    decoded = np.zeros(len(ds), dtype=bool)
    model = backbone.model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        for x, idx, ok, _ in tqdm(loader, desc=desc, disable=not progress, unit="batch"):
            good = idx[ok].numpy()
            decoded[good] = True
            if len(good):
                x = x[ok].to(device).contiguous(memory_format=torch.channels_last)
                out = model(x).float()
                if tta_flip:  # the mean of the image's features and its mirror's (flip along the width)
                    out = (out + model(torch.flip(x, dims=[3])).float()) / 2
                feats[good] = out.cpu().numpy()
    return feats, decoded


def native_input_size(backbone: str) -> int:
    """The resolution a backbone was pretrained at (without loading its weights)."""
    from lib.core.registry import native_image_size

    return native_image_size(backbone)  # 224 for efficientnet-lite0, 240 for -lite1, 260 for -lite2


def extract_features(paths: Sequence[str | None], backbone: str = "efficientnet-lite0", input_size: int | None = 224,
                     batch_size: int = 32, num_workers: int = 0, use_cache: bool = True,
                     progress: bool = True, framing: str = "letterbox", tta_flip: bool = False) -> FeatureSet:
    """Pooled backbone features for each image path (NaN rows for missing/unreadable images).

    Args:
        paths: image files (None for a listing without a photo).
        backbone: a registry name (`efficientnet-lite0`/`-lite1`/`-lite2` offline; `resnet50`, `efficientnet_b0`,
            `vit_small_patch14_dinov2.lvd142m` from timm when their weights are reachable).
        input_size: the square input resolution (None: the backbone's native one).
        use_cache: read/write `models/features/<backbone>_<size>px_<framing>[_flip]_<hash>.npz`.
        framing: "letterbox" (default: pad to a square on white, then resize; keeps the whole product) or
            "center_crop" (resize the short side, cut the centre: the ImageNet evaluation).
        tta_flip: test-time augmentation: each image's features are the mean of its own and its horizontal
            mirror's (twice the compute).
    """
    import torch

    t0 = time.perf_counter()
    input_size = int(input_size or native_input_size(backbone))
    paths = [None if p is None or (isinstance(p, float) and np.isnan(p)) else str(p) for p in paths]
    _check_framing(framing)
    tta_flip = bool(tta_flip)
    cache = feature_cache_path(backbone, input_size, paths, framing, tta_flip) if use_cache else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            status = [str(s) for s in z["status"]]
            return FeatureSet(z["features"], np.array([s == OK for s in status]), status, backbone, input_size,
                              cache, True, time.perf_counter() - t0, framing, tta_flip)
    # a stat tells "missing"; "unreadable" comes out of the extraction pass itself (each image decoded once)
    status = [OK if p and Path(p).is_file() else MISSING for p in paths]
    bb = load_image_backbone(backbone, num_classes=0, input_size=input_size)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bb.model = bb.model.to(device, memory_format=torch.channels_last)  # channels_last: ~1.5x faster on CPU
    readable = [i for i, s in enumerate(status) if s == OK]
    feats = np.full((len(paths), bb.feature_dim), np.nan, dtype=np.float32)
    if readable:
        sub, decoded = _images_to_tensor_batches(
            bb, [paths[i] for i in readable], batch_size, num_workers, progress,
            f"features {backbone} {input_size}px {framing}{' +flip' if tta_flip else ''}", framing, tta_flip)
        feats[readable] = sub
        for i in np.asarray(readable)[~decoded]:
            status[i] = UNREADABLE
    fs = FeatureSet(feats, np.array([s == OK for s in status]), status, backbone, input_size, cache, False,
                    time.perf_counter() - t0, framing, tta_flip)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, features=feats, status=np.array(status), backbone=np.array(backbone),
                            input_size=np.array(input_size), framing=np.array(framing), tta_flip=np.array(tta_flip))
        tmp.replace(cache)
    return fs


def features_of_images(images: Sequence[Any], backbone: Any, batch_size: int = 32, framing: str = "letterbox",
                       tta_flip: bool = False, num_workers: int = 0) -> np.ndarray:
    """Features of PIL images or image paths (decoded batch by batch) with an already-loaded `ImageBackbone`
    (no cache): for perturbed copies in robustness tests and for prediction. Rows of unreadable paths are NaN.
    Use the `framing` and `tta_flip` the classifier's training features were extracted with."""
    return _images_to_tensor_batches(backbone, images, batch_size, num_workers, False, "features", framing,
                                     bool(tta_flip))[0]
