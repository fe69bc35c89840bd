"""Nested cross-validation of the late fusion (lib/products/fusion_cv.py): leakage, gains, missing photos, ablation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.products.fusion_cv import (best_single_modality, nested_fusion_cv, paired_gain, text_strength_ablation,
                                    text_variants, truncate_words)

CLASSES = ["towel", "baby towel", "watch"]


def _catalogue(n_per_class=40, image_signal=3.0, seed=0):
    """Texts separate 'watch' from the rest but not 'towel' from 'baby towel'; the photo separates all three."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    words = {0: "cotton bath towel soft", 1: "cotton bath towel soft", 2: "steel analog watch strap"}
    texts = [f"{words[k]} {rng.choice(['blue', 'red', 'white'])} item{rng.integers(1000)}" for k in y]
    X = rng.normal(0, 1, (len(y), 8))
    X[np.arange(len(y)), y] += image_signal
    return texts, X.astype(np.float32), y


def test_fusion_beats_text_when_the_photo_knows_what_the_text_cannot():
    texts, X, y = _catalogue()
    cv = nested_fusion_cv(texts, X, y, CLASSES, folds=4, inner_folds=3, progress=False)
    s = cv.summary().set_index("model")
    assert s.loc["text", "accuracy"] < 0.75  # towel vs baby towel is a coin flip for the text
    assert s.loc["fusion", "weighted_f1"] > max(s.loc["text", "weighted_f1"], s.loc["image", "weighted_f1"])
    assert best_single_modality(cv) in ("text", "image")
    g = paired_gain(cv, "text")
    assert g["ci_low"] > 0 and g["fixed"] > g["broken"]
    assert (cv.folds["alpha"] > 0).all()
    assert len(cv.folds) == 4 and cv.folds["n_eval"].sum() == len(y)
    for p in (cv.p_text, cv.p_image, cv.p_fusion):
        np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)


def test_no_leakage_memorisable_texts_with_random_labels_score_at_chance():
    rng = np.random.default_rng(3)
    n = 150
    y = rng.integers(0, 3, n)
    texts = [f"uniqueid{i} uniqueid{i}" for i in range(n)]  # each row memorisable, nothing generalises
    X = rng.normal(0, 1, (n, 4)).astype(np.float32)
    cv = nested_fusion_cv(texts, X, y, CLASSES, folds=5, inner_folds=3, progress=False)
    s = cv.summary().set_index("model")
    # a model that had seen the row would get it right; nested CV must stay near chance (1/3)
    assert s.loc["text", "accuracy"] < 0.5 and s.loc["fusion", "accuracy"] < 0.5


def test_useless_photo_gets_little_weight_and_costs_little():
    texts, X, y = _catalogue(image_signal=0.0, seed=1)
    texts = [t.replace("baby", "") for t in texts]
    cv = nested_fusion_cv(texts, X, y, CLASSES, folds=4, inner_folds=3, progress=False)
    s = cv.summary().set_index("model")
    assert s.loc["image", "accuracy"] < 0.5
    assert s.loc["fusion", "weighted_f1"] >= s.loc["text", "weighted_f1"] - 0.03
    assert best_single_modality(cv) == "text"


def test_rows_without_photo_or_text_are_answered_by_the_other_modality():
    texts, X, y = _catalogue(seed=2)
    has_photo = np.ones(len(y), bool)
    has_photo[::10] = False
    X[~has_photo] = np.nan  # whatever is stored there must not be read
    texts[5] = "   "
    cv = nested_fusion_cv(texts, X, y, CLASSES, image_present=has_photo, folds=3, inner_folds=3, progress=False)
    assert np.isnan(cv.p_image[~has_photo]).all() and not np.isnan(cv.p_image[has_photo]).any()
    np.testing.assert_allclose(cv.p_fusion[~has_photo & cv.text_present], cv.p_text[~has_photo & cv.text_present])
    np.testing.assert_allclose(cv.p_fusion[5], cv.p_image[5])
    s = cv.summary().set_index("model")
    assert s.loc["image", "answered"] == has_photo.sum() and s.loc["fusion", "answered"] == len(y)


def test_alpha_curve_at_zero_is_the_text_model():
    texts, X, y = _catalogue(seed=4)
    cv = nested_fusion_cv(texts, X, y, CLASSES, folds=3, inner_folds=3, progress=False)
    curve = cv.alpha_curve([0.0, 0.5, 1.0])
    assert curve.iloc[0]["correct"] == int((cv.p_text.argmax(1) == y).sum())
    assert curve.iloc[2]["correct"] == int((cv.p_image.argmax(1) == y).sum())


def test_ablation_reuses_the_image_side_and_shows_a_weaker_text_gaining_more():
    texts, X, y = _catalogue(seed=5)
    texts = [t.replace("cotton bath towel soft", "towel") for t in texts]
    variants = {"full": texts, "same again": list(texts), "one word": truncate_words(texts, 1)}
    table, results = text_strength_ablation(variants, X, y, CLASSES, folds=3, inner_folds=3, progress=False)
    assert list(table["text variant"]) == list(variants)
    pd.testing.assert_series_equal(table.iloc[0].drop(["text variant", "seconds"]),
                                   table.iloc[1].drop(["text variant", "seconds"]), check_names=False)
    np.testing.assert_array_equal(results["full"].p_image, results["one word"].p_image)
    assert table.iloc[2]["text_weighted_f1"] <= table.iloc[0]["text_weighted_f1"]


def test_too_few_rows_per_class_for_the_folds_is_a_clear_error():
    texts, X, y = _catalogue(n_per_class=3)
    with pytest.raises(ValueError, match="rarest class has 3"):
        nested_fusion_cv(texts, X, y, CLASSES, folds=5, progress=False)
    with pytest.raises(ValueError, match="differ in length"):
        nested_fusion_cv(texts[:-1], X, y, CLASSES, folds=3, progress=False)


def test_text_variants():
    df = pd.DataFrame({"text": ["Red towel soft cotton", ""], "designation": ["Red towel", None]})
    v = text_variants(df, ["full", "designation", "designation:1"])
    assert v == {"designation + description": ["Red towel soft cotton", ""], "designation only": ["Red towel", ""],
                 "first 1 words of the designation": ["Red", ""]}
    for bad in (["all"], ["designation:0"], ["designation:x"], []):
        with pytest.raises(ValueError):
            text_variants(df, bad)


def test_error_overlap_counts_what_the_image_could_fix():
    from lib.products.fusion_cv import error_overlap

    texts, X, y = _catalogue(seed=6)
    cv = nested_fusion_cv(texts, X, y, CLASSES, folds=3, inner_folds=3, progress=False)
    o = error_overlap(cv, confident=0.0)
    text_wrong = cv.p_text.argmax(1) != y
    assert o["text_errors"] == text_wrong.sum() > 0
    assert o["image_right_on_them"] == (text_wrong & (cv.p_image.argmax(1) == y)).sum()
    assert o["of_which_text_confident_0"] == o["image_right_on_them"]
    assert error_overlap(cv, confident=1.01)["of_which_text_confident_1.01"] == 0


def test_image_side_is_the_most_weighted_feature_member_or_the_old_single_backbone():
    from lib.products.fusion_cv import image_side_representation

    meta = {"vote": {"members": ["a", "cnn", "b"], "weights": [0.2, 0.5, 0.3]},
            "member_specs": {"a": {"backbone": "efficientnet-lite0", "input_size": 224},
                             "b": {"backbone": "efficientnet-lite1", "input_size": 240, "framing": "center_crop",
                                   "flip": True}},
            "feature_backbone": "efficientnet-lite0", "feature_input_size": 224}
    assert image_side_representation(meta) == ("efficientnet-lite1", 240, "center_crop", True)
    old = {"vote": {"members": ["mlp"], "weights": [1.0]}, "feature_backbone": "efficientnet-lite0",
           "feature_input_size": 160}
    assert image_side_representation(old) == ("efficientnet-lite0", 160, "center_crop", False)


def test_early_fusion_uses_both_blocks_and_the_same_outer_folds():
    from lib.ensemble.vote_cv import nested_select_cv  # noqa: F401  (the selection it runs)
    from lib.products.fusion_cv import early_fusion_cv, early_fusion_inputs

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    E = rng.normal(0, 1, (120, 4))
    E[:, 0] += (y == 2) * 3.0  # the text separates class 2 only
    X = rng.normal(0, 1, (120, 5))
    X[:, 1] += (y == 1) * 3.0  # the photo separates class 1 only
    has = np.ones(120, bool)
    has[::7] = False
    Z = early_fusion_inputs(E, X, has)
    assert Z.shape == (120, 10) and (Z[~has, 4:9] == 0).all() and (Z[:, -1] == has).all()
    res = early_fusion_cv(E, X, has, y, 3, Cs=(0.1, 1.0), folds=4, inner_folds=3, progress=False)
    acc = (res.p.argmax(1) == y).mean()
    text_only = early_fusion_cv(E, np.zeros_like(X), np.zeros(120, bool), y, 3, Cs=(1.0,), folds=4, inner_folds=3,
                                progress=False)
    assert acc > (text_only.p.argmax(1) == y).mean() + 0.1 and len(res.chosen) == 4


def test_embedding_text_cv_and_pooled_scores():
    from lib.products.fusion_cv import embedding_text_cv, pooled_scores

    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 30)
    E = rng.normal(0, 1, (90, 6))
    E[np.arange(90), y] += 3.0
    res = embedding_text_cv(E, y, 3, Cs=(1.0,), folds=3, inner_folds=2, progress=False)
    t = pooled_scores({"e5": res.p, "chance": np.tile([1.0, 0, 0], (90, 1))}, y, 3).set_index("model")
    assert t.loc["e5", "accuracy"] > 0.8 and t.loc["chance", "accuracy"] == pytest.approx(1 / 3)
