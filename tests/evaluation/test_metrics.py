import pytest

from lib.evaluation.metrics import classification_scores, macro_f1


def test_scores_and_the_full_label_set():
    y_true, y_pred = ["a", "a", "b", "b"], ["a", "b", "b", "b"]
    s = classification_scores(y_true, y_pred)
    assert s["accuracy"] == 0.75
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    # a class absent from the split counts as 0 in the macro average when the label set is given
    assert classification_scores(y_true, y_pred, labels=["a", "b", "c"])["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 3)


def test_macro_f1_averages_over_every_given_class():
    # "c" is never predicted (F1 0: 1 true row missed), "d" is in neither y nor the predictions (F1 0, still counted)
    y_true, y_pred = ["a", "a", "b", "c"], ["a", "b", "b", "a"]
    f_a, f_b = 2 * 0.5 * 0.5 / (0.5 + 0.5), 2 * 0.5 * 1.0 / 1.5
    assert macro_f1(y_true, y_pred, ["a", "b", "c", "d"]) == pytest.approx((f_a + f_b) / 4)
    assert macro_f1(y_true, y_pred, ["a", "b", "c"]) == pytest.approx((f_a + f_b) / 3)
    scores = classification_scores(y_true, y_pred, labels=["a", "b", "c", "d"])
    assert scores["macro_f1"] == pytest.approx((f_a + f_b) / 4)
    assert macro_f1([0, 1, 1], [0, 1, 1], range(3)) == pytest.approx(2 / 3)  # class indices work the same way
    with pytest.raises(ValueError, match="at least one class"):
        macro_f1(y_true, y_pred, [])


def test_oof_vs_test_plot_draws_two_bars_per_model():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from lib.evaluation.plots import plot_oof_vs_test

    table = pd.DataFrame({"model": ["a", "b", "c"], "oof_macro_f1": [0.9, 0.8, 0.7], "test_macro_f1": [0.85, 0.7, 0.6]})
    ax = plot_oof_vs_test(table)
    assert len(ax.patches) == 6 and [t.get_text() for t in ax.get_yticklabels()] == ["c", "b", "a"]
