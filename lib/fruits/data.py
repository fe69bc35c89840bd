"""Where the study's images come from: the real Fruits-360 subset, an explicit URI (s3://), or demo data."""
from __future__ import annotations

from dataclasses import dataclass
from lib.core.datasets import resolve_dataset
from lib.core.paths import data_dir
from lib.fruits.demo import generate_demo_fruits

DATASET = "fruits360"


@dataclass(frozen=True)
class FruitsSource:
    """The images root the notebook reads, and how to describe it in the report."""

    uri: str  # local folder or s3:// URI holding Training/ and Test/
    source: str  # "real" or "demo"
    name: str

    @property
    def synthetic(self) -> bool:
        return self.source == "demo"


def resolve_fruits(data_dir_param: str = "", images_uri: str = "", seed: int = 42, demo_classes: int = 8,
                   demo_train: int = 60, demo_test: int = 20, demo_corrupt: int = 1) -> FruitsSource:
    """Pick the images: `images_uri` (e.g. s3://bucket/fruits-360) > `DATA_DIR/fruits360` > generated demo set.

    Raises:
        DatasetNotFoundError: DATA_DIR was given but has no `fruits360/Training` and `Test` (no silent fallback).
    """
    if images_uri:
        return FruitsSource(images_uri, "real", f"Fruits-360 at {images_uri}")
    real = resolve_dataset(data_dir_param, DATASET, must_contain=("Training", "Test"))
    if real is not None:
        return FruitsSource(str(real), "real", "fruits360 (real Fruits-360 subset, 100x100 JPEG)")
    folder = data_dir() / "demo" / f"fruits_s{seed}_c{demo_classes}_n{demo_train}-{demo_test}_k{demo_corrupt}"
    generate_demo_fruits(folder, n_classes=demo_classes, n_train=demo_train, n_test=demo_test, seed=seed,
                         n_corrupt=demo_corrupt)
    return FruitsSource(str(folder), "demo", f"demo fruits (SYNTHETIC, generated, {demo_classes} classes)")

