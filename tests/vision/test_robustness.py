"""Perturbations and the robustness sweep."""
from __future__ import annotations

import numpy as np
import pytest

from lib.vision.robustness import Perturbation, automation_curve, default_perturbations, robustness_sweep


def test_perturbations_keep_size_and_identity_levels(tiny_images):
    im = tiny_images[0][0]
    for kind, level in (("rotation", 45), ("noise", 30), ("blur", 2)):
        out = Perturbation(kind, level).apply(im)
        assert out.size == im.size and out.mode == "RGB"
        assert np.abs(np.asarray(out, float) - np.asarray(im, float)).mean() > 0.5
    for kind in ("noise", "blur"):
        np.testing.assert_array_equal(np.asarray(Perturbation(kind, 0).apply(im)), np.asarray(im))
    with pytest.raises(ValueError):
        Perturbation("shear", 1).apply(im)


def test_default_perturbations_sweep_0_to_360():
    perts = default_perturbations(30, (0, 10), (0, 2))
    angles = [p.level for p in perts if p.kind == "rotation"]
    assert angles[0] == 0 and angles[-1] == 360 and len(angles) == 13


def test_sweep_scores_every_model_on_every_condition(tiny_images):
    images, y = tiny_images

    def predict(ims):  # "red wins": a colour rule that noise does not fool but that is not a model
        red = np.array([np.asarray(im, float)[..., 0].mean() - np.asarray(im, float)[..., 2].mean() for im in ims])
        p0 = 1 / (1 + np.exp(-red))
        proba = np.stack([p0, 1 - p0], 1)
        return {"rule": proba, "vote": proba, "always_0": np.tile([0.9, 0.1], (len(ims), 1))}

    perts = default_perturbations(90, (0, 20), (0, 2))
    table = robustness_sweep(images, y, predict, perts, progress=False)
    assert len(table) == len(perts) * 3
    assert table.loc[table["model"] == "always_0", "accuracy"].eq(0.5).all()
    assert table.loc[table["model"] == "rule", "accuracy"].min() == 1.0


def test_automation_curve_is_monotone():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([0.5] * 3, 200)
    curve = automation_curve({"m": p}, rng.integers(0, 3, 200))
    assert curve["automation_rate"].is_monotonic_decreasing


def _colour_rule(seen_sizes: list | None = None):
    def predict(ims):
        if seen_sizes is not None:
            seen_sizes.append((len(ims), max(max(im.size) for im in ims)))
        red = np.array([np.asarray(im, float)[..., 0].mean() - np.asarray(im, float)[..., 2].mean() for im in ims])
        p0 = 1 / (1 + np.exp(-red / 20))
        proba = np.stack([p0, 1 - p0], 1)
        return {"rule": proba, "vote": proba}
    return predict


def test_sweep_streams_paths_batch_by_batch_with_the_numbers_of_pil_images(tiny_images, tiny_image_files,
                                                                           count_decodes):
    import pandas as pd

    images, y = tiny_images
    perts = default_perturbations(90, (0, 20), (0, 2))
    in_memory = robustness_sweep(images, y, _colour_rule(), perts, seed=3, progress=False)
    count_decodes.clear()
    seen: list = []
    streamed = robustness_sweep(tiny_image_files, y, _colour_rule(seen), perts, seed=3, progress=False, batch_size=5)
    pd.testing.assert_frame_equal(streamed, in_memory)
    assert count_decodes == tiny_image_files  # each photo decoded once for the whole sweep
    assert max(n for n, _ in seen) == 5  # never more than a batch in memory
    # the 4 identity conditions (0°, 360°, noise 0, blur 0) of a batch are predicted once
    assert len(seen) == 5 * (len(perts) - 3)


def test_sweep_shrinks_photos_before_perturbing(tiny_images, tiny_image_files):
    images, y = tiny_images
    seen: list = []
    robustness_sweep(tiny_image_files[:4], y[:4], _colour_rule(seen), [Perturbation("blur", 1.0)], progress=False,
                     max_side=36)
    assert seen == [(4, 36)]
