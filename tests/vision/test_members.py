"""Vote members that differ (lib/vision/members.py) and the split helpers of notebook 05 (lib/vision/study.py)."""
from __future__ import annotations

import numpy as np
import pytest

from lib.vision.members import HoldoutMLP, MemberSpec, make_member_model, parse_members
from lib.vision.classifiers import MLPConfig
from lib.vision.study import ImageSplit, split_rows


def test_member_specs_from_parameters_and_their_errors():
    specs = parse_members([{"name": "a", "backbone": "efficientnet-lite2", "input_size": 260},
                           {"name": "b", "backbone": "efficientnet-lite1", "input_size": "240", "model": "mlp",
                            "framing": "center_crop", "flip": True}])
    assert specs[0].features == ("efficientnet-lite2", 260, "letterbox", False)
    assert specs[1].features == ("efficientnet-lite1", 240, "center_crop", True)
    assert "mlp on efficientnet-lite1 @ 240px, center_crop + flip TTA" == specs[1].describe()
    with pytest.raises(ValueError, match="unknown keys \\['size'\\]"):
        MemberSpec.from_dict({"name": "a", "backbone": "x", "input_size": 1, "size": 3})
    with pytest.raises(ValueError, match="missing \\['input_size'\\]"):
        MemberSpec.from_dict({"name": "a", "backbone": "x"})
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        MemberSpec.from_dict({"name": "a", "backbone": "x", "input_size": 1, "model": "svm"})
    with pytest.raises(ValueError, match="framing must be one of"):
        MemberSpec.from_dict({"name": "a", "backbone": "x", "input_size": 1, "framing": "stretch"})
    with pytest.raises(ValueError, match="repeated: \\['a'\\]"):
        parse_members([{"name": "a", "backbone": "x", "input_size": 1}] * 2)


def test_holdout_mlp_stops_early_on_its_own_rows_and_gives_all_classes():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    X = rng.normal(0, 1, (150, 6)).astype(np.float32)
    X[np.arange(150), y] += 2.5
    m = HoldoutMLP(MLPConfig(epochs=200, patience=3), seed=0, n_classes=4).fit(X, y)
    assert len(m.history) < 200 and "val_loss" in m.history[0]  # stopped on the held-out part
    p = m.predict_proba(X)
    assert p.shape == (150, 4) and (p.argmax(1) == y).mean() > 0.85
    spec = MemberSpec("m", "efficientnet-lite0", 224, model="mlp")
    assert isinstance(make_member_model(spec, n_classes=3), HoldoutMLP)


def test_split_rows_cuts_what_feature_paths_stacked():
    img = {n: ImageSplit([str(i) for i in range(k)], [""] * k, np.zeros(k, int), 0)
           for n, k in (("train", 3), ("val", 2), ("test", 1))}
    parts = split_rows(np.arange(6), img)
    assert [list(parts[n]) for n in ("train", "val", "test")] == [[0, 1, 2], [3, 4], [5]]
    assert split_rows(list("abcdef"), img)["val"] == ["d", "e"]
    with pytest.raises(ValueError, match="7 rows given, the splits hold 6"):
        split_rows(np.arange(7), img)


def test_holdout_mlp_on_fewer_rows_than_a_stratified_holdout_needs():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(10), 5)  # 50 rows, 10 classes: 15 % is 8 rows, fewer than the classes
    X = rng.normal(0, 1, (50, 12)).astype(np.float32)
    m = HoldoutMLP(MLPConfig(epochs=5), seed=0, n_classes=10).fit(X, y)
    assert m.predict_proba(X).shape == (50, 10)


def test_fit_feature_members_and_cv_members_use_each_members_own_representation():
    from types import SimpleNamespace

    from lib.ensemble.vote_cv import nested_vote_cv
    from lib.vision.members import cv_members, fit_feature_members
    from lib.vision.study import member_scores_table, scores_table

    rng = np.random.default_rng(0)
    y_all = np.repeat(np.arange(2), 30)
    good = rng.normal(0, 1, (60, 4))
    good[:, 0] += y_all * 3.0
    noise = rng.normal(0, 1, (60, 4))
    a, b = MemberSpec("good", "bb", 8), MemberSpec("noise", "bb", 16)
    order = rng.permutation(60)
    y_all, good, noise = y_all[order], good[order], noise[order]
    feats = {a.features: SimpleNamespace(features=good), b.features: SimpleNamespace(features=noise)}
    img = {n: ImageSplit([str(i) for i in range(m)], [""] * m, np.zeros(m, int), 0)
           for n, m in (("train", 40), ("val", 10), ("test", 10))}
    Y = split_rows(y_all, img)
    models, probas = fit_feature_members([a, b], feats, img, Y, n_classes=2)
    assert set(models) == {"good", "noise"} and probas["test"]["good"].shape == (10, 2)
    tables = {s: scores_table(probas[s], Y[s]) for s in ("val", "test")}
    table = member_scores_table(tables, {"good": a.describe(), "noise": b.describe()})
    assert table.set_index("member").loc["good", "test_weighted_f1"] > 0.8
    cv = nested_vote_cv(cv_members([a, b], feats, y_all, n_classes=2, ocr_texts=[""] * 60), y_all, ["x", "y"],
                        folds=3, inner_folds=2, progress=False)
    assert set(cv.p_members) == {"good", "noise", "ocr"}
    assert np.allclose(cv.p_members["ocr"], 0.5)  # no text anywhere: the prior
