"""Late fusion maths: weighted sum, per-row missing modalities, the alpha search on validation."""
from __future__ import annotations

import numpy as np
import pytest

from lib.ensemble.fusion import align_probs, fuse, modality_status, per_class_gain, search_alpha


def test_fuse_is_the_weighted_sum_and_stays_a_distribution():
    pi = np.array([[0.8, 0.2], [0.1, 0.9]])
    pt = np.array([[0.4, 0.6], [0.5, 0.5]])
    out = fuse(pi, pt, 0.25)
    np.testing.assert_allclose(out, 0.25 * pi + 0.75 * pt)
    np.testing.assert_allclose(out.sum(1), 1.0)
    np.testing.assert_allclose(fuse(pi, pt, 1.0), pi)
    np.testing.assert_allclose(fuse(pi, pt, 0.0), pt)


def test_missing_modality_renormalises_to_the_other_one():
    pi = np.array([[0.9, 0.1], [np.nan, np.nan], [0.3, 0.7], [0.2, 0.8]])
    pt = np.array([[0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    out = fuse(pi, pt, 0.6, text_present=[True, True, False, False], image_present=[True, True, True, False])
    np.testing.assert_allclose(out[0], 0.6 * pi[0] + 0.4 * pt[0])
    np.testing.assert_allclose(out[1], pt[1])  # no image (NaN row): text alone
    np.testing.assert_allclose(out[2], pi[2])  # empty text: image alone
    np.testing.assert_allclose(out[3], [0.5, 0.5])  # nothing: uniform, still an answer
    assert modality_status(pi, pt, [True, True, True, False], [True, True, False, False]).tolist() == \
        ["both", "text only", "image only", "none"]
    # alpha = 1 but no photo: the text answers instead of nothing
    np.testing.assert_allclose(fuse(pi, pt, 1.0)[1], pt[1])


def test_fuse_rejects_bad_inputs():
    with pytest.raises(ValueError, match="alpha"):
        fuse(np.ones((1, 2)) / 2, np.ones((1, 2)) / 2, 1.5)
    with pytest.raises(ValueError, match="shape"):
        fuse(np.ones((1, 2)) / 2, np.ones((1, 3)) / 3, 0.5)


def _complementary(n=600, k=4, seed=0):
    """Two noisy modalities that err on different rows: their fusion is better than either."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)

    def modality(strength, noise):
        logits = rng.normal(0, noise, (n, k))
        logits[np.arange(n), y] += strength
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    return y, modality(1.5, 1.0), modality(1.0, 1.0)


def test_alpha_search_finds_an_interior_weight_that_beats_both():
    y, pi, pt = _complementary()
    res = search_alpha(pi, pt, y)
    curve = res.curve.set_index("alpha")
    assert 0.0 < res.alpha < 1.0
    best = curve.loc[res.alpha, "weighted_f1"]
    assert best > curve.loc[0.0, "weighted_f1"] + 0.02 and best > curve.loc[1.0, "weighted_f1"] + 0.01
    assert res.alpha > 0.5  # the image modality here is the stronger one


def test_alpha_search_goes_to_the_only_useful_modality():
    y, pi, _ = _complementary(seed=1)
    useless = np.full_like(pi, 0.1 / (pi.shape[1] - 1))
    useless[:, 0] = 0.9  # a confident constant answer, whatever the listing
    res = search_alpha(pi, useless, y)
    assert res.alpha >= 0.8
    assert res.curve.set_index("alpha").loc[0.0, "accuracy"] < 0.35


def test_align_probs_and_per_class_gain():
    out = align_probs(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]), ["b", "z", "a"])
    np.testing.assert_allclose(out[0], [0, 1])
    assert np.isnan(out[1]).all()
    g = per_class_gain(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["x", "y"])
    assert g.iloc[0]["gain"] > 0 and set(g["class"]) == {"x", "y"}
