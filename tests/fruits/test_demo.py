"""The synthetic demo set: deterministic bytes, layout, planted corrupt files, argument checks."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lib.fruits.demo import DEMO_FRUITS, draw_fruit, generate_demo_fruits


def _digest(root):
    files = sorted(p for p in root.rglob("*.jpg"))
    return [(str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    a = generate_demo_fruits(tmp_path / "a", n_classes=3, n_train=3, n_test=2, seed=5, n_corrupt=1)
    b = generate_demo_fruits(tmp_path / "b", n_classes=3, n_train=3, n_test=2, seed=5, n_corrupt=1)
    c = generate_demo_fruits(tmp_path / "c", n_classes=3, n_train=3, n_test=2, seed=6, n_corrupt=1)
    assert _digest(a) == _digest(b)
    da, dc = dict(_digest(a)), dict(_digest(c))
    assert da.keys() == dc.keys() and sum(da[k] != dc[k] for k in da) == len(da)


def test_layout_and_corrupt_file(tmp_path):
    from PIL import Image

    root = generate_demo_fruits(tmp_path / "d", n_classes=4, n_train=5, n_test=2, n_corrupt=2)
    for split, n in (("Training", 5), ("Test", 2)):
        classes = sorted(p.name for p in (root / split).iterdir())
        assert classes == sorted(f.name for f in DEMO_FRUITS[:4])
        for c in classes:
            assert len(list((root / split / c).glob("0*.jpg"))) == n
    bad = sorted(root.rglob("corrupt_*.jpg"))
    assert len(bad) == 2
    with pytest.raises(OSError):
        Image.open(bad[0]).load()
    with Image.open(next(root.rglob("0000_100.jpg"))) as im:
        assert im.size == (100, 100) and im.mode == "RGB"


def test_classes_differ_in_colour():
    means = [draw_fruit(f, np.random.default_rng(0)).reshape(-1, 3).mean(0) for f in DEMO_FRUITS[:6]]
    dists = [np.abs(means[i] - means[j]).sum() for i in range(6) for j in range(i + 1, 6)]
    assert min(dists) > 5


def test_reuse_and_bad_arguments(tmp_path):
    root = generate_demo_fruits(tmp_path / "e", n_classes=2, n_train=1, n_test=1)
    stamp = (root / "demo.json").stat().st_mtime_ns
    generate_demo_fruits(tmp_path / "e", n_classes=2, n_train=1, n_test=1)
    assert (root / "demo.json").stat().st_mtime_ns == stamp  # same settings: reused, not rewritten
    with pytest.raises(ValueError):
        generate_demo_fruits(tmp_path / "f", n_classes=len(DEMO_FRUITS) + 1)
    with pytest.raises(ValueError):
        generate_demo_fruits(tmp_path / "g", n_train=0)
