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
    # so are the other framing and the flip TTA: features of other preprocessing are never reused
    assert fs.framing == "letterbox" and not fs.tta_flip
    with pytest.raises(AssertionError, match="cache was not used"):
        extract_features(paths, "efficientnet-lite0", input_size=64, progress=False, framing="center_crop")
    with pytest.raises(AssertionError, match="cache was not used"):
        extract_features(paths, "efficientnet-lite0", input_size=64, progress=False, tta_flip=True)


def test_cache_key_depends_on_the_list_and_the_backbone(image_files):
    a = image_files["ok"][:3]
    assert image_list_hash(a) == image_list_hash(list(a))
    assert image_list_hash(a) != image_list_hash(a[::-1])
    assert feature_cache_path("efficientnet-lite0", 224, a) != feature_cache_path("resnet50", 224, a)
    assert feature_cache_path("efficientnet-lite0", 224, a) != feature_cache_path("efficientnet-lite0", 160, a)


def test_cache_key_changes_with_backbone_size_framing_and_tta_and_nothing_else(image_files):
    a = image_files["ok"][:3]
    base = feature_cache_path("efficientnet-lite0", 224, a)
    # the same settings, spelt differently, are the same entry
    assert base == feature_cache_path("efficientnet-lite0", 224, list(a))
    assert base == feature_cache_path("efficientnet-lite0", 224, tuple(a), framing="letterbox", tta_flip=False)
    assert base == feature_cache_path("efficientnet-lite0", np.int64(224), a, "letterbox", 0)
    variants = {
        "backbone": feature_cache_path("efficientnet-lite1", 224, a),
        "input size": feature_cache_path("efficientnet-lite0", 240, a),
        "framing": feature_cache_path("efficientnet-lite0", 224, a, framing="center_crop"),
        "tta": feature_cache_path("efficientnet-lite0", 224, a, tta_flip=True),
        "framing + tta": feature_cache_path("efficientnet-lite0", 224, a, framing="center_crop", tta_flip=True),
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)
    assert all(p.parent == base.parent for p in variants.values())
    assert "letterbox" in base.name and "center_crop_flip" in variants["framing + tta"].name
    with pytest.raises(ValueError, match="framing must be one of"):
        feature_cache_path("efficientnet-lite0", 224, a, framing="crop")


def test_native_input_sizes_of_the_offline_backbones():
    assert [features.native_input_size(n) for n in ("efficientnet-lite0", "efficientnet-lite1",
                                                     "efficientnet-lite2")] == [224, 240, 260]


def test_features_separate_two_visual_classes(tiny_images, isolated_outputs):
    from lib.core.registry import load_image_backbone
    from lib.vision.features import features_of_images
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    images, y = tiny_images
    X = features_of_images(images, load_image_backbone("efficientnet-lite0", input_size=64))
    assert X.shape == (24, 1280)
    assert cross_val_score(LogisticRegression(max_iter=1000), X, y, cv=3).mean() >= 0.9


def test_extract_features_decodes_each_file_once(image_files, isolated_outputs, count_decodes):
    # before streaming, every image was decoded twice: once to check it, once to extract it
    paths = image_files["ok"][:4] + image_files["unreadable"] + image_files["missing"]
    fs = extract_features(paths, "efficientnet-lite0", input_size=64, batch_size=2, progress=False, use_cache=False)
    assert fs.counts == {"n_total": 7, "n_ok": 4, "n_missing": 2, "n_unreadable": 1}
    assert fs.status == ["ok"] * 4 + ["unreadable", "missing", "missing"]
    assert sorted(count_decodes) == sorted(paths[:5])  # the missing files are never opened


def test_features_from_paths_equal_features_from_pil_images(tiny_images, tiny_image_files):
    from lib.core.registry import load_image_backbone
    from lib.vision.features import features_of_images

    bb = load_image_backbone("efficientnet-lite0", input_size=64)
    from_files = features_of_images(tiny_image_files[:5], bb, batch_size=2)
    np.testing.assert_allclose(from_files, features_of_images(tiny_images[0][:5], bb, batch_size=2), atol=1e-6)
    assert np.isfinite(from_files).all()
    with_bad = features_of_images(tiny_image_files[:2] + ["/nonexistent.png"], bb)
    np.testing.assert_allclose(with_bad[:2], from_files[:2], atol=1e-5)
    assert np.isnan(with_bad[2]).all()


def test_the_cache_key_does_not_depend_on_how_a_path_is_written(tmp_path, monkeypatch):
    from lib.vision.features import image_list_hash

    (tmp_path / "a").mkdir()
    f = tmp_path / "a" / "x.jpg"
    f.write_bytes(b"not really a jpeg")
    monkeypatch.chdir(tmp_path / "a")
    assert image_list_hash(["x.jpg", None]) == image_list_hash([str(f), None]) == image_list_hash(["../a/./x.jpg", None])
    assert image_list_hash(["x.jpg"]) != image_list_hash([str(f), str(f)])
