"""Tiny image fixtures: two visually distinct classes (red discs, blue bars) drawn with PIL."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def make_image(label: int, seed: int, size: int = 72):
    """Class 0: a red disc; class 1: a blue vertical bar; random position, noise."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), (245, 245, 240))
    d = ImageDraw.Draw(im)
    cx, cy = rng.integers(size // 3, 2 * size // 3, 2)
    r = int(rng.integers(size // 6, size // 4))
    if label == 0:
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(210, 30, 30))
    else:
        d.rectangle([cx - r // 3, cy - r, cx + r // 3, cy + r], fill=(30, 40, 200))
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One torch thread: on a shared 2-core machine two threads spin against other jobs (3x slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_images() -> tuple[list, np.ndarray]:
    """24 PIL images, 12 per class."""
    y = np.array([i % 2 for i in range(24)])
    return [make_image(int(c), i) for i, c in enumerate(y)], y


@pytest.fixture()
def image_files(tmp_path: Path, tiny_images) -> dict[str, list]:
    """Six readable JPEGs, one truncated file, one path that does not exist, one None."""
    images, _ = tiny_images
    ok = []
    for i, im in enumerate(images[:6]):
        p = tmp_path / f"ok_{i}.jpg"
        im.save(p, quality=90)
        ok.append(str(p))
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(Path(ok[0]).read_bytes()[:200])
    return {"ok": ok, "unreadable": [str(bad)], "missing": [str(tmp_path / "nope.jpg"), None]}


@pytest.fixture(scope="session")
def tiny_image_files(tmp_path_factory, tiny_images) -> list[str]:
    """The 24 tiny images saved as PNG files (lossless: decoding a file gives back the in-memory image)."""
    folder = tmp_path_factory.mktemp("tiny_png")
    paths = []
    for i, im in enumerate(tiny_images[0]):
        p = folder / f"img_{i:02d}.png"
        im.save(p)
        paths.append(str(p))
    return paths


@pytest.fixture()
def count_decodes(monkeypatch) -> list:
    """Every path `lib.vision.images.open_image` decodes, in order (to check that each image is read once)."""
    import lib.vision.images as images_module

    opened: list = []
    real = images_module.open_image

    def counting(path):
        opened.append(path)
        return real(path)

    monkeypatch.setattr(images_module, "open_image", counting)
    return opened
