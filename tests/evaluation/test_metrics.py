import pytest

from lib.evaluation.metrics import classification_scores


def test_scores_and_the_full_label_set():
    y_true, y_pred = ["a", "a", "b", "b"], ["a", "b", "b", "b"]
    s = classification_scores(y_true, y_pred)
    assert s["accuracy"] == 0.75
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    # a class absent from the split counts as 0 in the macro average when the label set is given
    assert classification_scores(y_true, y_pred, labels=["a", "b", "c"])["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 3)
