"""A deterministic, synthetic Fruits-360 look-alike: fruit-like blobs on white, Training/Test folders.

Each class has its own shape (round, elongated, clustered, heart-shaped), colour, texture (speckles,
stripes, dimples) and a stalk or not; each image varies position, scale, rotation, lighting and noise.
It is *synthetic*: reports that use it say so. Same seed → byte-identical JPEG files.
"""
from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("Training", "Test")


@dataclass(frozen=True)
class DemoFruit:
    """How one synthetic class is drawn."""

    name: str
    rgb: tuple[int, int, int]
    aspect: float  # height / width of the main ellipse
    radius: float  # fraction of the image size
    texture: str  # "none", "speckle", "stripes", "dimples", "seeds"
    lobes: int = 1  # 1: one blob; >1: a cluster (grapes, berries)
    stalk: bool = False


DEMO_FRUITS: tuple[DemoFruit, ...] = (
    DemoFruit("Apple Red (synthetic)", (190, 25, 35), 0.92, 0.36, "speckle", stalk=True),
    DemoFruit("Banana (synthetic)", (235, 205, 45), 0.35, 0.44, "stripes", stalk=True),
    DemoFruit("Blueberry (synthetic)", (60, 70, 140), 1.0, 0.14, "none", lobes=5),
    DemoFruit("Kiwi (synthetic)", (120, 90, 50), 0.8, 0.34, "speckle"),
    DemoFruit("Lemon (synthetic)", (245, 225, 70), 0.78, 0.33, "dimples"),
    DemoFruit("Lime (synthetic)", (110, 170, 40), 0.95, 0.28, "dimples"),
    DemoFruit("Orange (synthetic)", (245, 140, 25), 1.0, 0.37, "dimples"),
    DemoFruit("Plum (synthetic)", (95, 30, 80), 0.95, 0.30, "none", stalk=True),
    DemoFruit("Strawberry (synthetic)", (215, 30, 45), 1.25, 0.30, "seeds"),
    DemoFruit("Grape (synthetic)", (120, 150, 60), 1.0, 0.12, "none", lobes=7),
    DemoFruit("Watermelon (synthetic)", (40, 120, 50), 0.85, 0.42, "stripes"),
    DemoFruit("Peach (synthetic)", (245, 165, 120), 0.97, 0.35, "none", stalk=True),
)


def _ellipse_mask(h: int, w: int, cy: float, cx: float, ry: float, rx: float, angle: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    y, x = yy - cy, xx - cx
    ca, sa = np.cos(angle), np.sin(angle)
    u, v = ca * x + sa * y, -sa * x + ca * y
    return (u / rx) ** 2 + (v / ry) ** 2


def draw_fruit(fruit: DemoFruit, rng: np.random.Generator, size: int = 100) -> np.ndarray:
    """One synthetic image (uint8 HxWx3) of `fruit` on a white background, randomised by `rng`."""
    img = np.full((size, size, 3), 255.0, dtype=np.float32)
    h = w = size
    angle = rng.uniform(0, np.pi)
    scale = rng.uniform(0.85, 1.15)
    cy, cx = size / 2 + rng.normal(0, size * 0.04, 2)
    base = np.array(fruit.rgb, dtype=np.float32) * rng.uniform(0.85, 1.12) + rng.normal(0, 8, 3)
    centres = [(cy, cx)]
    if fruit.lobes > 1:
        centres = [(cy + rng.normal(0, size * 0.12), cx + rng.normal(0, size * 0.12)) for _ in range(fruit.lobes)]
    for (py, px) in centres:
        r = fruit.radius * size * scale * (rng.uniform(0.85, 1.1) if fruit.lobes > 1 else 1.0)
        d = _ellipse_mask(h, w, py, px, r * fruit.aspect, r, angle)
        inside = d <= 1.0
        # Lighting: brighter towards a random upper-left highlight, darker at the rim.
        shade = 1.0 - 0.35 * np.clip(d, 0, 1) ** 2
        hy, hx = py - 0.35 * r, px - 0.35 * r
        glow = np.exp(-(((np.mgrid[0:h, 0:w][0] - hy) ** 2 + (np.mgrid[0:h, 0:w][1] - hx) ** 2) / (2 * (0.3 * r) ** 2)))
        colour = base[None, None, :] * shade[..., None] + 60 * glow[..., None]
        if fruit.texture == "speckle":
            colour += (rng.random((h, w, 1)) < 0.06) * rng.uniform(-60, 60)
        elif fruit.texture == "dimples":
            colour += rng.normal(0, 10, (h, w, 1))
        elif fruit.texture == "stripes":
            yy, xx = np.mgrid[0:h, 0:w]
            colour *= (1 - 0.18 * (np.sin((np.cos(angle) * xx + np.sin(angle) * yy) / 2.5) > 0.6))[..., None]
        elif fruit.texture == "seeds":
            seeds = rng.random((h, w)) < 0.03
            colour[seeds] = np.array([240, 220, 120], dtype=np.float32)
        img[inside] = colour[inside]
    if fruit.stalk:
        y0 = int(np.clip(cy - fruit.radius * size * scale * fruit.aspect - 6, 0, h - 8))
        x0 = int(np.clip(cx + rng.normal(0, 2), 1, w - 3))
        img[y0:y0 + 8, x0:x0 + 2] = np.array([90, 60, 30], dtype=np.float32)
    img += rng.normal(0, 4, img.shape)  # sensor noise
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg(arr: np.ndarray, quality: int = 92) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr, mode="RGB").save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def generate_demo_fruits(root: str | Path, n_classes: int = 8, n_train: int = 60, n_test: int = 20,
                         size: int = 100, seed: int = 42, n_corrupt: int = 0, overwrite: bool = False) -> Path:
    """Write a synthetic Fruits-360-like set: `root/Training/<class>/*.jpg` and `root/Test/<class>/*.jpg`.

    Args:
        n_classes: how many of `DEMO_FRUITS` (at most 12).
        n_train, n_test: images per class in each split.
        n_corrupt: truncated JPEG files added to `Training/` (they exercise the corrupt-file report).
        overwrite: regenerate even if a set with the same settings is already there.

    Returns:
        `root`. A `demo.json` records the settings; an existing folder with the same settings is reused.
    """
    if not 1 <= n_classes <= len(DEMO_FRUITS):
        raise ValueError(f"n_classes must be in 1..{len(DEMO_FRUITS)}, got {n_classes}")
    if n_train < 1 or n_test < 1:
        raise ValueError("n_train and n_test must be at least 1")
    root = Path(root)
    settings = {"n_classes": n_classes, "n_train": n_train, "n_test": n_test, "size": size, "seed": seed,
                "n_corrupt": n_corrupt, "synthetic": True, "version": 1}
    marker = root / "demo.json"
    if not overwrite and marker.exists() and json.loads(marker.read_text()) == settings:
        return root
    if root.exists():
        shutil.rmtree(root)
    for ci, fruit in enumerate(DEMO_FRUITS[:n_classes]):
        for si, (split, n) in enumerate(zip(SPLITS, (n_train, n_test))):
            folder = root / split / fruit.name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                # One generator per image: any image can be regenerated alone, in any order.
                rng = np.random.default_rng([seed, ci, si, i])
                (folder / f"{i:04d}_{size}.jpg").write_bytes(_jpeg(draw_fruit(fruit, rng, size)))
    for k in range(n_corrupt):
        fruit = DEMO_FRUITS[k % n_classes]
        good = _jpeg(draw_fruit(fruit, np.random.default_rng([seed, 999, k]), size))
        (root / "Training" / fruit.name / f"corrupt_{k:02d}.jpg").write_bytes(good[: len(good) // 3])
    marker.write_text(json.dumps(settings, indent=2))
    return root
