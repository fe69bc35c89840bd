"""A two-class catalogue through study 2: text model, temperature, image members, soft vote, fusion, nested CV.

scikit-learn's binary decision function has one column; every score and probability matrix here must
still have one column per class, or the calibration and the fusion break.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.special import expit

from lib.ensemble.fusion import fuse, per_class_gain, search_alpha
from lib.ensemble.voting import fit_soft_vote
from lib.evaluation.calibration import apply_temperature, binary_logits, fit_temperature
from lib.evaluation.metrics import macro_f1
from lib.products.data import load_rakuten, split_products
from lib.products.demo import generate_demo_catalogue
from lib.products.text_model import (benchmark_text_models, calibration_table, fit_calibrated_text_model,
                                     make_text_pipeline, per_class_report, scores_matrix)
from lib.vision.classifiers import make_feature_model

# books vs stationery: their texts borrow each other's words (ambiguous listings), their photos differ in shape
CLASSES = ["10", "2522"]


def _thumbnails(df) -> tuple[np.ndarray, np.ndarray]:
    """16x16 RGB thumbnails as features (zeros where there is no readable photo) and the has-photo mask."""
    X = np.zeros((len(df), 16 * 16 * 3), dtype=np.float32)
    ok = df["image_path"].notna().to_numpy()
    for i, path in enumerate(df["image_path"]):
        if ok[i]:
            with Image.open(path) as im:
                X[i] = np.asarray(im.convert("RGB").resize((16, 16)), dtype=np.float32).ravel() / 255.0
    return X, ok


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    folder = generate_demo_catalogue(tmp_path_factory.mktemp("binary"), n=240, seed=11, classes=CLASSES)
    df, problems = load_rakuten(folder)
    assert not problems and sorted(df["label"].unique()) == CLASSES
    s = split_products(df, seed=11)
    index = {c: i for i, c in enumerate(CLASSES)}
    y = {k: np.array([index[c] for c in d["label"]]) for k, d in s.items()}
    majority = float(np.bincount(y["test"]).max() / len(y["test"]))  # accuracy of always answering the larger class
    return df, s, y, majority


def test_binary_logits_are_a_two_column_softmax():
    d = np.array([-2.0, 0.0, 3.0])
    z = binary_logits(d)
    assert z.shape == (3, 2) and np.array_equal(binary_logits(z), z)
    np.testing.assert_allclose(apply_temperature(d, 2.0)[:, 1], expit(d / 2.0))
    y = np.array([0, 1, 1])
    assert fit_temperature(d, y) == pytest.approx(fit_temperature(z, y))


def test_text_pipeline_and_temperature(binary):
    df, s, y, majority = binary
    tr, va, te = s["train"], s["val"], s["test"]
    bench = benchmark_text_models(tr["text"], tr["label"], va["text"], va["label"], n_estimators=20, seed=1)
    assert len(bench) == 5 and bench["macro_f1"].max() > 0.6
    for name in ("LinearSVC", "SGDClassifier", "LogisticRegression", "MultinomialNB"):
        pipe = make_text_pipeline(name, seed=1).fit(list(tr["text"]), list(tr["label"]))
        assert scores_matrix(pipe, te["text"]).shape == (len(te), 2), name
    model = fit_calibrated_text_model(tr["text"], tr["label"], va["text"], va["label"], C=1.0)
    p = model.predict_proba(te["text"])
    assert p.shape == (len(te), 2) and model.classes == CLASSES
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert 0.05 <= model.info["temperature"] <= 20 and model.info["val_nll_after"] <= model.info["val_nll_before"]
    assert set(calibration_table(model, te["text"], te["label"])) >= {"nll_after", "ece_after"}
    assert (p.argmax(1) == y["test"]).mean() > majority and macro_f1(y["test"], p.argmax(1), range(2)) > 0.6
    assert len(per_class_report(te["label"], model.predict(te["text"]), CLASSES)) == 2


def test_image_vote_and_fusion(binary):
    df, s, y, majority = binary
    X = {k: _thumbnails(d) for k, d in s.items()}
    members = {}
    for name in ("logreg", "random_forest"):
        Xtr, ok = X["train"]
        clf = make_feature_model(name, seed=1, fast=True).fit(Xtr[ok], y["train"][ok])
        members[name] = {k: clf.predict_proba(X[k][0]) for k in ("val", "test")}
        assert members[name]["test"].shape == (len(s["test"]), 2)
    ok_va, ok_te = X["val"][1], X["test"][1]
    vote = fit_soft_vote({n: m["val"][ok_va] for n, m in members.items()}, y["val"][ok_va])
    p_img_te = vote.predict_proba({n: m["test"] for n, m in members.items()})
    assert p_img_te.shape == (len(s["test"]), 2) and np.isclose(sum(vote.weights), 1.0)
    assert (p_img_te[ok_te].argmax(1) == y["test"][ok_te]).mean() > majority
    # image temperature on the vote's log-probabilities, as notebook 06 does
    p_img_va = vote.predict_proba({n: m["val"] for n, m in members.items()})
    T = fit_temperature(np.log(np.clip(p_img_va[ok_va], 1e-12, 1)), y["val"][ok_va])
    p_img = {k: np.where(ok[:, None], apply_temperature(np.log(np.clip(p, 1e-12, 1)), T), np.nan)
             for k, p, ok in (("val", p_img_va, ok_va), ("test", p_img_te, ok_te))}
    text = fit_calibrated_text_model(s["train"]["text"], s["train"]["label"], s["val"]["text"], s["val"]["label"])
    p_txt = {k: text.predict_proba(s[k]["text"]) for k in ("val", "test")}
    search = search_alpha(p_img["val"], p_txt["val"], y["val"])
    assert 0.0 <= search.alpha <= 1.0 and len(search.curve) == 21 and search.curve["macro_f1"].between(0, 1).all()
    fused = fuse(p_img["test"], p_txt["test"], search.alpha)
    assert fused.shape == (len(s["test"]), 2) and not np.isnan(fused).any()
    np.testing.assert_allclose(fused.sum(1), 1.0)
    assert (fused.argmax(1) == y["test"]).mean() > majority
    assert len(per_class_gain(y["test"], fused.argmax(1), p_txt["test"].argmax(1), CLASSES)) == 2


def test_nested_fusion_cv_on_two_classes(binary):
    from lib.products.fusion_cv import nested_fusion_cv

    df, _, _, _ = binary
    X, ok = _thumbnails(df)
    yy = np.array([CLASSES.index(c) for c in df["label"]])
    cv = nested_fusion_cv(df["text"].tolist(), X, yy, CLASSES, image_present=ok, folds=3, inner_folds=3,
                          progress=False, fast=True, seed=1)
    assert cv.p_text.shape == cv.p_fusion.shape == (len(df), 2)
    summary = cv.summary().set_index("model")
    assert summary.loc["fusion", "accuracy"] > np.bincount(yy).max() / len(yy)
