"""Nested cross-validation of the soft vote (lib/ensemble/vote_cv.py) and the paired comparison it reports."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from lib.ensemble.vote_cv import error_correlation, mean_off_diagonal, nested_vote_cv, proba_member
from lib.ensemble.voting import choose_best_member
from lib.evaluation.paired import beats_verdict, compare_paired, paired_bootstrap

CLASSES = ["a", "b", "c"]


def _views(n_per_class=60, seed=0):
    """Three noisy views of the label: each view is informative, their noises are independent."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    views = []
    for _ in range(3):
        X = rng.normal(0, 1, (len(y), 3))
        X[np.arange(len(y)), y] += 1.2
        views.append(X)
    return views, y


def _logreg():
    return LogisticRegression(max_iter=500)


def test_vote_of_independent_members_beats_the_inner_chosen_best_member():
    views, y = _views()
    members = {f"view{i}": proba_member(_logreg, X, y, 3) for i, X in enumerate(views)}
    cv = nested_vote_cv(members, y, CLASSES, folds=5, inner_folds=3, progress=False)
    s = cv.summary().set_index("model")["weighted_f1"]
    c = cv.comparison(n_boot=300)
    assert s["vote"] > s["best member (inner choice)"] + 0.05
    assert c["ci_low"] > 0 and c["fixed"] > c["broken"]
    assert set(cv.folds["best_member"]) <= set(members)
    # independent views: errors weakly correlated
    assert mean_off_diagonal(cv.error_correlation()) < 0.3


def test_no_leakage_a_memorising_member_on_random_labels_stays_at_chance():
    # every row has its own point; 1-NN reproduces a row's label only if it saw that row
    rng = np.random.default_rng(3)
    n = 180
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 1, (n, 5))
    members = {"1nn": proba_member(lambda: KNeighborsClassifier(1), X, y, 3),
               "logreg": proba_member(_logreg, X, y, 3)}
    cv = nested_vote_cv(members, y, CLASSES, folds=5, inner_folds=3, progress=False)
    s = cv.summary().set_index("model")["accuracy"]
    # a member refitted on rows that include the scored ones would be at 1.0
    assert s["1nn"] < 0.5 and s["vote"] < 0.5 and s["best member (inner choice)"] < 0.5


def test_a_useless_member_gets_little_weight():
    views, y = _views(seed=1)
    noise = np.random.default_rng(9).normal(0, 1, (len(y), 3))
    members = {"good": proba_member(_logreg, views[0], y, 3), "noise": proba_member(_logreg, noise, y, 3)}
    cv = nested_vote_cv(members, y, CLASSES, folds=4, inner_folds=3, progress=False)
    assert (cv.folds["w_noise"] <= 0.3).all()
    assert (cv.folds["best_member"] == "good").all()
    s = cv.summary().set_index("model")["weighted_f1"]
    assert s["vote"] >= s["good"] - 0.03


def test_member_trained_without_a_class_still_gives_all_columns():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    y = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1])
    fp = proba_member(_logreg, X, y, 3)
    p = fp(np.arange(12), np.arange(4))
    assert p.shape == (4, 3) and np.allclose(p.sum(1), 1) and (p[:, 2] == 0).all()


def test_too_few_rows_per_class_is_a_clear_error():
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="rarest class has 2 rows"):
        nested_vote_cv({"m": proba_member(_logreg, np.zeros((8, 1)), y, 3)}, y, CLASSES, folds=3, progress=False)


def test_error_correlation_identical_independent_and_perfect_members():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    onehot = np.eye(2)
    wrong_a = rng.random(2000) < 0.3
    wrong_b = rng.random(2000) < 0.3
    pa = onehot[np.where(wrong_a, 1 - y, y)]
    pb = onehot[np.where(wrong_b, 1 - y, y)]
    corr = error_correlation({"a": pa, "a_copy": pa, "b": pb, "perfect": onehot[y]}, y)
    assert corr.loc["a", "a_copy"] == pytest.approx(1.0)
    assert abs(corr.loc["a", "b"]) < 0.06
    assert np.isnan(corr.loc["a", "perfect"]) and corr.loc["perfect", "perfect"] == 1.0


def test_best_member_is_chosen_on_the_rows_given_ties_broken_by_nll():
    y = np.array([0, 1, 0, 1])
    sure = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    soft = np.array([[0.6, 0.4], [0.4, 0.6], [0.6, 0.4], [0.4, 0.6]])
    wrong = soft[:, ::-1]
    assert choose_best_member({"soft": soft, "sure": sure, "wrong": wrong}, y) == "sure"


def test_paired_bootstrap_identical_predictions_and_a_clear_gain():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    ref = np.where(rng.random(300) < 0.6, y, (y + 1) % 3)
    assert paired_bootstrap(y, ref, ref)["ci_high"] == 0.0
    better = np.where(rng.random(300) < 0.5, y, ref)  # fixes about half of the reference's errors
    c = compare_paired(y, ref, better, n_boot=300)
    assert c["ci_low"] > 0.05 and c["broken"] == 0 and c["fixed"] > 0
    assert "beats" in beats_verdict("the vote", "its best member", c, "every photo")
    worse = compare_paired(y, better, ref, n_boot=300)
    text = beats_verdict("the vote", "its best member", worse, "every photo", why_not=["errors coincide"])
    assert "does NOT beat" in text and "Why: errors coincide" in text


def test_paired_bootstrap_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="paired rows"):
        paired_bootstrap(np.array([0, 1, 0]), np.array([0, 1]), np.array([0, 1, 0]))


def test_nested_select_cv_picks_per_fold_on_inner_rows_and_predicts_every_row_once():
    from lib.ensemble.vote_cv import nested_select_cv

    views, y = _views(seed=4)
    noise = np.random.default_rng(5).normal(0, 1, (len(y), 3))
    cands = {"signal": proba_member(_logreg, views[0], y, 3), "noise": proba_member(_logreg, noise, y, 3)}
    res = nested_select_cv(cands, y, 3, folds=4, inner_folds=3, progress=False)
    assert res.chosen == ["signal"] * 4
    assert res.p.shape == (len(y), 3) and np.allclose(res.p.sum(1), 1)
    assert (res.p.argmax(1) == y).mean() > 0.6


def test_shared_errors_and_mean_correlation_without_a_member():
    from lib.ensemble.vote_cv import shared_errors

    y = np.array([0, 0, 0, 0, 1, 1])
    eye = np.eye(2)
    ref = eye[[1, 1, 0, 0, 1, 1]]    # wrong on rows 0, 1
    a = eye[[1, 0, 0, 0, 1, 1]]      # right on row 1
    b = eye[[1, 1, 0, 1, 1, 1]]      # wrong on 0, 1, 3
    out = shared_errors({"ref": ref, "a": a, "b": b}, y, "ref")
    assert out == {"reference_errors": 2, "all_others_also_wrong": 1, "some_other_right": 1}
    assert shared_errors({"ref": ref, "a": a, "b": b}, y, "ref", others=["b"])["all_others_also_wrong"] == 2
    corr = error_correlation({"ref": ref, "a": a, "b": b}, y)
    assert mean_off_diagonal(corr, exclude=["b"]) == pytest.approx(corr.loc["ref", "a"])
