"""Image source resolution: explicit URI > DATA_DIR/fruits360 > generated demo (never a silent fallback)."""
from __future__ import annotations

import pytest

from lib.core.datasets import DatasetNotFoundError
from lib.fruits.data import resolve_fruits


def test_demo_when_no_data_dir(isolated_outputs):
    src = resolve_fruits("", seed=3, demo_classes=2, demo_train=2, demo_test=1, demo_corrupt=1)
    assert src.source == "demo" and src.synthetic and "SYNTHETIC" in src.name
    assert len(list((isolated_outputs / "data").rglob("*.jpg"))) == 2 * 3 + 1


def test_missing_real_data_is_an_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="fruits360"):
        resolve_fruits(str(tmp_path))


def test_explicit_uri_wins():
    src = resolve_fruits("", images_uri="s3://bucket/fruits-360")
    assert src.uri == "s3://bucket/fruits-360" and src.source == "real"


@pytest.mark.realdata
def test_real_subset(real_data):
    src = resolve_fruits(str(real_data))
    assert src.source == "real" and src.uri.endswith("fruits360")
