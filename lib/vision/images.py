"""Reading product photos safely: missing and unreadable files are counted, never fatal.

Everything that consumes photos takes *items*: image paths (str / Path; None for a listing without a photo)
or in-memory PIL images. Paths are decoded lazily, one batch at a time, by a torch DataLoader
(`ImageListDataset` for tensors, `iter_image_batches` for PIL images), so a catalogue never sits in memory;
`load_images` decodes a short list at once (the app, a handful of Grad-CAM examples).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

MISSING, UNREADABLE, OK = "missing", "unreadable", "ok"


def open_image(path: str | Path | None) -> tuple[Any, str]:
    """(RGB PIL image or None, status) where status is "ok", "missing" or "unreadable"."""
    from PIL import Image, UnidentifiedImageError

    if path is None or (isinstance(path, float) and np.isnan(path)) or str(path) == "":
        return None, MISSING
    p = Path(path)
    if not p.is_file():
        return None, MISSING
    try:
        with Image.open(p) as im:
            im.load()  # decode now: truncated files fail here, not later inside a DataLoader worker
            return im.convert("RGB"), OK
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None, UNREADABLE


def is_pil_image(item: Any) -> bool:
    """True for an in-memory PIL image, False for a path (or None)."""
    return hasattr(item, "convert") and hasattr(item, "size")


def decode_item(item: Any, max_side: int | None = None) -> tuple[Any, str]:
    """(RGB PIL image or None, status) for a path or a PIL image (a copy: the caller may modify it).

    Args:
        max_side: shrink (aspect kept) so the long side is at most this many pixels; None keeps the size.
    """
    if is_pil_image(item):
        im, status = item.convert("RGB"), OK  # convert() returns a new image even when already RGB
    else:
        im, status = open_image(item)
    if im is not None and max_side and max(im.size) > max_side:
        im.thumbnail((max_side, max_side))
    return im, status


@dataclass
class ImageAudit:
    """How many images of a list could be read."""

    n_total: int
    n_ok: int
    n_missing: int
    n_unreadable: int
    status: list[str] = field(default_factory=list)

    @property
    def ok_mask(self) -> np.ndarray:
        return np.array([s == OK for s in self.status], dtype=bool)

    def as_dict(self) -> dict[str, int]:
        return {"n_total": self.n_total, "n_ok": self.n_ok, "n_missing": self.n_missing,
                "n_unreadable": self.n_unreadable}


def audit_images(paths: Sequence[str | None]) -> ImageAudit:
    """Try to open every image; count the missing and unreadable ones."""
    status = [open_image(p)[1] for p in paths]
    return ImageAudit(len(status), status.count(OK), status.count(MISSING), status.count(UNREADABLE), status)


class ImageListDataset:
    """A torch Dataset over image paths (or PIL images): returns (tensor, index, ok, label).

    Each item is decoded when its batch is drawn, so only one batch of images is in memory. Unreadable or
    missing images give a zero tensor and ok=False so a batch never fails; callers count and drop them.
    """

    def __init__(self, items: Sequence[Any], transform: Callable[[Any], Any], size: int,
                 labels: Sequence[int] | None = None):
        self.items = list(items)
        self.transform = transform
        self.size = size
        self.labels = None if labels is None else list(labels)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[Any, int, bool, int]:
        import torch

        im, status = decode_item(self.items[i])
        label = -1 if self.labels is None else int(self.labels[i])
        if im is None:
            return torch.zeros(3, self.size, self.size), i, False, label
        return self.transform(im), i, status == OK, label


class DecodedImages:
    """A torch Dataset over image paths (or PIL images) that only decodes: returns (index, RGB PIL image or
    None, status). For code that works on PIL images one batch at a time (perturbations, OCR)."""

    def __init__(self, items: Sequence[Any], max_side: int | None = None):
        self.items = list(items)
        self.max_side = max_side

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[int, Any, str]:
        im, status = decode_item(self.items[i], self.max_side)
        return i, im, status


def _as_list(batch: list[Any]) -> list[Any]:
    """DataLoader collate that keeps PIL images as they are (module-level so worker processes can pickle it)."""
    return batch


def _unreadable_error(item: Any, status: str) -> ValueError:
    return ValueError(f"image {item!r} is {status}: filter the list with audit_images() first")


def iter_image_batches(items: Sequence[Any], batch_size: int = 32, max_side: int | None = None,
                       num_workers: int = 0, skip_unreadable: bool = False) -> Iterator[tuple[list[int], list[Any]]]:
    """Decode `items` (paths or PIL images) one batch at a time: yields (indices into items, RGB PIL images).

    Each image is decoded once and dropped after its batch, so memory holds `batch_size` images whatever the
    list's length.

    Args:
        max_side: shrink each image so its long side is at most this (None: as stored).
        num_workers: DataLoader worker processes decoding ahead (0: in this process).
        skip_unreadable: leave missing/unreadable items out of the batches (default: raise ValueError).
    """
    from torch.utils.data import DataLoader

    loader = DataLoader(DecodedImages(items, max_side), batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, collate_fn=_as_list)
    for batch in loader:
        idx, ims = [], []
        for i, im, status in batch:
            if im is None:
                if skip_unreadable:
                    continue
                raise _unreadable_error(items[i], status)
            idx.append(i)
            ims.append(im)
        if idx:
            yield idx, ims


def load_images(paths: Sequence[Any], max_side: int | None = None) -> list[Any]:
    """Decode a short list of readable images (paths or PIL images) into memory, optionally shrunk so the long
    side ≤ max_side. For a handful of images (the app, Grad-CAM examples); pipelines stream with
    `iter_image_batches` or `ImageListDataset` instead."""
    out = []
    for p in paths:
        im, status = decode_item(p, max_side)
        if im is None:
            raise _unreadable_error(p, status)
        out.append(im)
    return out
