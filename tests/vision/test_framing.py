"""Framing of product photos (letterbox vs centre crop) and horizontal-flip test-time augmentation."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lib.core.registry import ImageBackbone

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _backbone(size: int = 100) -> ImageBackbone:
    """The preprocessing only (no weights): TF-Lite normalisation, timm's Lite0 crop_pct."""
    return ImageBackbone(name="efficientnet-lite0", model=None, feature_dim=1280, input_size=size,
                         mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), crop_pct=0.875)


def _is(arr: np.ndarray, colour: tuple[int, int, int], tol: int = 3) -> np.ndarray:
    return (np.abs(arr.astype(int) - np.array(colour)) <= tol).all(-1)


def _wide_product() -> Image.Image:
    """200x100: red, with 10-px blue ends (the ends of an elongated product, which a centre crop cuts off)."""
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:] = RED
    arr[:, :10] = BLUE
    arr[:, -10:] = BLUE
    return Image.fromarray(arr)


def test_letterbox_pads_a_wide_image_with_white_bands_top_and_bottom():
    out = np.asarray(_backbone(100).frame_transform("letterbox")(Image.new("RGB", (200, 100), RED)))
    assert out.shape == (100, 100, 3)  # square, at the input size
    # 200x100 → 200x200 with 50-px bands → 100x100 with 25-px bands (±1 row of bicubic blending at each edge)
    white_rows = _is(out, WHITE).all(1)
    red_rows = _is(out, RED).all(1)
    assert white_rows[:24].all() and white_rows[76:].all()
    assert red_rows[26:74].all()
    assert 48 <= red_rows.sum() <= 50 and 48 <= white_rows.sum() <= 50
    # the bands are white on every column and the content spans the full width (nothing cut)
    assert _is(out[:24], WHITE).all() and _is(out[26:74], RED).all()


def test_letterbox_keeps_what_a_centre_crop_cuts_off():
    bb = _backbone(100)
    boxed = np.asarray(bb.frame_transform("letterbox")(_wide_product()))
    cropped = np.asarray(bb.frame_transform("center_crop")(_wide_product()))
    # letterbox: both blue ends survive (10 px of 200 → 5 px of 100 on each side)
    assert _is(boxed[50, :4], BLUE).all() and _is(boxed[50, -4:], BLUE).all()
    assert _is(boxed[50, 7:93], RED).all()
    # centre crop: 100x200 → short side 114 → the centre 100 of 229 columns: the blue ends are gone, no white
    assert not _is(cropped, BLUE, tol=60).any() and not _is(cropped, WHITE).any()


def test_letterbox_pads_a_tall_image_left_and_right():
    out = np.asarray(_backbone(100).frame_transform("letterbox")(Image.new("RGB", (60, 240), RED)))
    assert out.shape == (100, 100, 3)
    # 60x240 → 240x240 with 90-px side bands → 100x100 with 37.5-px bands and 25 px of content
    white_cols = _is(out, WHITE).all(0)
    red_cols = _is(out, RED).all(0)
    assert white_cols[:36].all() and white_cols[64:].all()
    assert red_cols[39:61].all() and 23 <= red_cols.sum() <= 25
    assert _is(out[:, 39:61], RED).all()  # the full height is kept


def test_letterbox_of_a_square_image_is_a_plain_resize():
    bb = _backbone(64)
    rng = np.random.default_rng(0)
    square = Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8))
    out = bb.frame_transform("letterbox")(square)
    assert out.size == (64, 64)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(square.resize((64, 64), Image.Resampling.BICUBIC)))
    at_size = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    np.testing.assert_array_equal(np.asarray(bb.frame_transform("letterbox")(at_size)), np.asarray(at_size))


def test_eval_transform_frames_then_normalises_and_rejects_unknown_framings():
    bb = _backbone(100)
    x = bb.eval_transform("letterbox")(Image.new("RGB", (200, 100), RED))
    assert tuple(x.shape) == (3, 100, 100)
    np.testing.assert_allclose(x[:, 0, 0].numpy(), [1.0, 1.0, 1.0], atol=1e-6)  # white band: (1 - 0.5) / 0.5
    np.testing.assert_allclose(x[:, 50, 50].numpy(), [1.0, -1.0, -1.0], atol=1e-6)  # red content
    default = bb.eval_transform()(_wide_product())  # the registry's default stays the ImageNet centre crop
    np.testing.assert_array_equal(default.numpy(), bb.eval_transform("center_crop")(_wide_product()).numpy())
    with pytest.raises(ValueError, match="framing must be one of"):
        bb.eval_transform("stretch")


def test_letterbox_transform_pickles():
    import pickle

    tf = _backbone(32).eval_transform("letterbox")
    again = pickle.loads(pickle.dumps(tf))
    im = Image.new("RGB", (50, 20), BLUE)
    np.testing.assert_array_equal(again(im).numpy(), tf(im).numpy())


@pytest.fixture(scope="module")
def lite0_64():
    from lib.core.registry import load_image_backbone

    return load_image_backbone("efficientnet-lite0", num_classes=0, input_size=64)


def test_tta_flip_of_a_symmetric_image_equals_the_plain_features(lite0_64):
    from lib.vision.features import features_of_images

    rng = np.random.default_rng(1)
    half = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    symmetric = Image.fromarray(np.concatenate([half, half[:, ::-1]], axis=1))  # 96x48, mirror-symmetric
    assert np.array_equal(np.asarray(symmetric), np.asarray(symmetric)[:, ::-1])
    for framing in ("letterbox", "center_crop"):
        plain = features_of_images([symmetric], lite0_64, framing=framing)
        flipped = features_of_images([symmetric], lite0_64, framing=framing, tta_flip=True)
        np.testing.assert_allclose(flipped, plain, rtol=1e-5, atol=1e-5)


def test_tta_flip_is_the_mean_of_the_image_and_its_mirror(lite0_64):
    from lib.vision.features import features_of_images

    rng = np.random.default_rng(2)
    im = Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))  # 96 wide, 64 high: padded top/bottom
    mirror = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    plain, mirrored = features_of_images([im, mirror], lite0_64)
    tta = features_of_images([im], lite0_64, tta_flip=True)[0]
    assert np.abs(plain - mirrored).max() > 1e-2  # a CNN is not mirror-invariant: the flip changes the features
    np.testing.assert_allclose(tta, (plain + mirrored) / 2, rtol=1e-4, atol=1e-4)
