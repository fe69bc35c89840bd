"""Soft voting: sharpening maths, weighted vote maths, k and weight search on constructed probabilities."""
from __future__ import annotations

import numpy as np
import pytest

from lib.ensemble.voting import (SoftVote, automation_rate, choose_k, confidence_gap, fit_soft_vote, simplex_grid,
                                 weighted_vote)
from lib.evaluation.calibration import sharpen


def _dirichlet(n: int, k: int, seed: int, alpha: float = 0.5) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet([alpha] * k, size=n)


def test_sharpen_k1_is_identity_and_rows_sum_to_one():
    p = _dirichlet(50, 5, 0)
    np.testing.assert_allclose(sharpen(p, 1.0), p, atol=1e-9)
    for k in (0.5, 2.0, 5.0):
        np.testing.assert_allclose(sharpen(p, k).sum(1), 1.0, atol=1e-9)


def test_sharpen_k_above_one_raises_the_max_and_keeps_the_argmax():
    p = _dirichlet(50, 5, 1)
    q = sharpen(p, 3.0)
    assert (q.max(1) >= p.max(1) - 1e-12).all()
    assert (q.max(1) > p.max(1)).mean() > 0.9
    np.testing.assert_array_equal(q.argmax(1), p.argmax(1))
    with pytest.raises(ValueError):
        sharpen(p, 0.0)


def test_weighted_vote_is_the_weighted_mean_of_rows():
    a = np.array([[0.8, 0.2], [0.1, 0.9]])
    b = np.array([[0.4, 0.6], [0.5, 0.5]])
    out = weighted_vote([a, b], [0.25, 0.75])
    np.testing.assert_allclose(out, 0.25 * a + 0.75 * b)
    np.testing.assert_allclose(weighted_vote([a, b], [1, 3]), out)  # weights are normalised
    np.testing.assert_allclose(weighted_vote([a, b], [1, 0]), a)
    sharp = weighted_vote([a, b], [0.5, 0.5], ks=[2.0, 1.0])
    np.testing.assert_allclose(sharp, 0.5 * sharpen(a, 2.0) + 0.5 * b)
    np.testing.assert_allclose(sharp.sum(1), 1.0)


@pytest.mark.parametrize("weights", [[0, 0], [-1, 2], [1, 1, 1]])
def test_weighted_vote_rejects_bad_weights(weights):
    a = _dirichlet(4, 3, 0)
    with pytest.raises(ValueError):
        weighted_vote([a, a], weights)


def test_simplex_grid_covers_the_simplex():
    grid = simplex_grid(3, 0.1)
    assert len(grid) == 66  # C(10 + 2, 2)
    assert all(abs(sum(w) - 1) < 1e-9 for w in grid)
    assert (1.0, 0.0, 0.0) in grid and (0.0, 0.0, 1.0) in grid


def test_choose_k_recovers_the_softening_exponent():
    rng = np.random.default_rng(0)
    p = _dirichlet(4000, 6, 2, alpha=0.3)  # calibrated by construction: y is drawn from p
    y = np.array([rng.choice(6, p=row) for row in p])
    soft = sharpen(p, 1 / 3)  # three times too soft
    assert confidence_gap(soft, y) > 0.1
    k, table = choose_k(soft, y)
    assert k in (2.5, 3.0, 4.0)
    assert table["nll"].min() < table.loc[table["k"] == 1.0, "nll"].item()


def test_fit_soft_vote_finds_the_informative_member_and_sharpens_it():
    rng = np.random.default_rng(3)
    n, k = 300, 4
    y = rng.integers(0, k, n)
    good = np.full((n, k), 0.6 / (k - 1))
    good[np.arange(n), y] = 0.4  # always right, but too soft
    noise1, noise2 = _dirichlet(n, k, 4), _dirichlet(n, k, 5)
    vote = fit_soft_vote({"good": good, "noise1": noise1, "noise2": noise2}, y, step=0.1)
    w = dict(zip(vote.members, vote.weights))
    assert vote.val_weighted_f1 == pytest.approx(1.0)
    assert w["good"] >= 0.5 and w["good"] == max(w.values())
    assert dict(zip(vote.members, vote.ks))["good"] > 1.0
    assert np.isclose(sum(vote.weights), 1.0)
    out = vote.predict_proba({"good": good, "noise1": noise1, "noise2": noise2})
    assert (out.argmax(1) == y).all()


def test_two_complementary_members_beat_each_alone():
    # member A is right on the first half, B on the second; each is confidently wrong elsewhere only mildly
    n, k = 200, 3
    y = np.arange(n) % k
    a, b = np.full((n, k), 1 / k), np.full((n, k), 1 / k)
    half = n // 2
    a[:half] = 0.05
    a[np.arange(half), y[:half]] = 0.9
    b[half:] = 0.05
    b[np.arange(half, n), y[half:]] = 0.9
    vote = fit_soft_vote({"a": a, "b": b}, y, step=0.1)
    assert vote.weights == [0.5, 0.5]
    assert vote.val_weighted_f1 == pytest.approx(1.0)


def test_soft_vote_round_trips_through_a_dict():
    vote = SoftVote(["cnn", "mlp"], [0.7, 0.3], [1.0, 2.0], 0.9, 0.3)
    again = SoftVote.from_dict(vote.as_dict())
    assert again.members == vote.members and again.weights == vote.weights and again.ks == vote.ks
    with pytest.raises(KeyError):
        again.predict_proba({"cnn": _dirichlet(3, 2, 0)})


def test_automation_rate_counts_confident_rows():
    p = np.array([[0.9, 0.1], [0.85, 0.15], [0.6, 0.4], [0.2, 0.8]])
    y = np.array([0, 1, 0, 1])
    out = automation_rate(p, y, 0.8)
    assert out["automation_rate"] == 0.75 and out["n_automated"] == 3
    assert out["accuracy_automated"] == pytest.approx(2 / 3)
    assert out["accuracy_all"] == 0.75
