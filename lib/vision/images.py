"""Reading product photos safely: missing and unreadable files are counted, never fatal."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

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
    """A torch Dataset over image paths (or PIL images): returns (tensor, index, ok).

    Unreadable or missing images give a zero tensor and ok=False so a batch never fails; callers count
    and drop them.
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

        item = self.items[i]
        if hasattr(item, "convert"):  # already a PIL image
            im, status = item.convert("RGB"), OK
        else:
            im, status = open_image(item)
        label = -1 if self.labels is None else int(self.labels[i])
        if im is None:
            return torch.zeros(3, self.size, self.size), i, False, label
        return self.transform(im), i, status == OK, label


def load_images(paths: Sequence[str], max_side: int | None = None) -> list[Any]:
    """Decode a list of readable images into memory (optionally shrunk so the long side ≤ max_side)."""
    out = []
    for p in paths:
        im, status = open_image(p)
        if im is None:
            raise ValueError(f"image {p!r} is {status}: filter the list with audit_images() first")
        if max_side and max(im.size) > max_side:
            im.thumbnail((max_side, max_side))
        out.append(im)
    return out
