"""Bias analysis: a constructed gap is flagged, equal groups are not, small groups are not judged."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.evaluation.bias import bias_report, length_buckets, plot_bias, wilson_interval


def _data(acc_fr: float, acc_en: float, n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b", "c"])
    y = rng.choice(labels, size=2 * n)
    lang = np.array(["fr"] * n + ["en"] * n)
    right = np.r_[rng.random(n) < acc_fr, rng.random(n) < acc_en]
    wrong = np.array([labels[(list(labels).index(t) + 1) % 3] for t in y])
    return y, np.where(right, y, wrong), lang


def test_constructed_language_gap_is_flagged():
    y, p, lang = _data(acc_fr=0.6, acc_en=0.95)
    rep = bias_report(y, p, {"language": lang}, threshold=0.05, metric="accuracy")
    flagged = rep.flagged
    assert list(flagged["group"]) == ["fr"]
    fr = rep.table.set_index("group").loc["fr"]
    assert fr["gap_accuracy"] < -0.1 and fr["accuracy_ci_high"] < rep.table.set_index("group").loc["en", "accuracy_ci_low"]
    assert any(s.startswith("FLAG language = fr") for s in rep.summary())


def test_no_flag_without_a_gap_and_macro_f1_metric():
    y, p, lang = _data(acc_fr=0.9, acc_en=0.9, n=400)
    rep = bias_report(y, p, {"language": lang}, threshold=0.05)
    assert rep.flagged.empty
    assert abs(rep.overall["macro_f1"] - 0.9) < 0.05


def test_small_groups_are_listed_not_judged():
    y, p, lang = _data(acc_fr=0.9, acc_en=0.9, n=100)
    lang = lang.astype(object)
    lang[:5] = "de"
    p = p.copy()
    p[:5] = "zzz"  # all wrong, but only 5 examples
    rep = bias_report(y, p, {"language": lang}, threshold=0.05, min_count=20)
    de = rep.table.set_index("group").loc["de"]
    assert de["too_small"] and not de["flagged"] and de["accuracy"] == 0.0


def test_length_buckets_and_abstention_rate():
    texts = ["mot " * k for k in (1, 10, 25, 60, 150, 400)]
    b = length_buckets(texts, edges=(0, 20, 50, 100, 200))
    assert list(b) == ["0–19 words", "0–19 words", "20–49 words", "50–99 words", "100–199 words", "≥ 200 words"]
    assert list(b.cat.categories)[-1] == "≥ 200 words"
    y = ["a", "b"] * 3
    rep = bias_report(y, y, {"length": b}, min_count=1, abstained=[True, False, False, False, True, True])
    t = rep.table.set_index("group")
    assert t.loc["0–19 words", "abstention_rate"] == 0.5 and t.loc["≥ 200 words", "abstention_rate"] == 1.0
    assert list(rep.table["group"])[0] == "0–19 words"  # categorical order kept
    with pytest.raises(ValueError):
        length_buckets(texts, edges=(10, 5))
    short = ["mot " * k for k in range(1, 31)]  # 1..30 words: tertiles split them in three equal groups
    q = length_buckets(short)
    assert list(q.cat.categories) == ["0–10 words", "11–20 words", "≥ 21 words"]
    assert q.value_counts().tolist() == [10, 10, 10]


def test_bad_inputs_and_wilson():
    with pytest.raises(ValueError):
        bias_report(["a"], ["a", "b"], {})
    with pytest.raises(ValueError):
        bias_report(["a", "b"], ["a", "b"], {"x": ["1"]})
    lo, hi = wilson_interval(9, 10)
    assert 0.55 < lo < 0.9 < hi <= 1.0


def test_plot_bias_draws_one_panel_per_dimension():
    import matplotlib

    matplotlib.use("Agg")
    y, p, lang = _data(acc_fr=0.6, acc_en=0.95)
    rep = bias_report(y, p, {"language": lang, "length": length_buckets(["w " * 30] * len(y))})
    axes = plot_bias(rep)
    assert len(axes) == 2 and axes[0].get_title().startswith("macro_f1 by language")
