"""Feature extraction through the registry: shapes, bad files counted, the on-disk cache."""
from __future__ import annotations

import numpy as np
import pytest

import lib.vision.features as features
from lib.vision.features import extract_features, feature_cache_path, image_list_hash


def test_features_count_bad_images_and_cache_hit(image_files, isolated_outputs, monkeypatch):
    paths = image_files["ok"][:4] + image_files["unreadable"] + image_files["missing"]
    fs = extract_features(paths, "efficientnet-lite0", input_size=64, batch_size=3, progress=False)
    assert not fs.from_cache
    assert fs.features.shape == (7, 1280)
    assert fs.counts == {"n_total": 7, "n_ok": 4, "n_missing": 2, "n_unreadable": 1}
    assert np.isfinite(fs.features[:4]).all() and np.isnan(fs.features[4:]).all()
    assert fs.cache_path.is_file() and str(isolated_outputs) in str(fs.cache_path)

    def boom(*args, **kwargs):
        raise AssertionError("the backbone was loaded again: the cache was not used")

    monkeypatch.setattr(features, "load_image_backbone", boom)
    again = extract_features(paths, "efficientnet-lite0", input_size=64, progress=False)
    assert again.from_cache
    np.testing.assert_array_equal(again.features, fs.features)
    assert again.counts == fs.counts
    # another input size is another cache entry, so it must recompute (and here hit the patched loader)
    with pytest.raises(AssertionError, match="cache was not used"):
        extract_features(paths, "efficientnet-lite0", input_size=96, progress=False)


def test_cache_key_depends_on_the_list_and_the_backbone(image_files):
    a = image_files["ok"][:3]
    assert image_list_hash(a) == image_list_hash(list(a))
    assert image_list_hash(a) != image_list_hash(a[::-1])
    assert feature_cache_path("efficientnet-lite0", 224, a) != feature_cache_path("resnet50", 224, a)
    assert feature_cache_path("efficientnet-lite0", 224, a) != feature_cache_path("efficientnet-lite0", 160, a)


def test_features_separate_two_visual_classes(tiny_images, isolated_outputs):
    from lib.core.registry import load_image_backbone
    from lib.vision.features import features_of_images
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    images, y = tiny_images
    X = features_of_images(images, load_image_backbone("efficientnet-lite0", input_size=64))
    assert X.shape == (24, 1280)
    assert cross_val_score(LogisticRegression(max_iter=1000), X, y, cv=3).mean() >= 0.9
