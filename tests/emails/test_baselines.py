"""Baselines on the demo inbox (learnable, not trivial) and on real intents_fr (test macro-F1 ≥ 0.80)."""
from __future__ import annotations

import numpy as np
import pytest

from lib.emails.baselines import cross_validate, make_baseline, summarise_cv
from lib.emails.clean import clean_email
from lib.emails.data import generate_demo_inbox, load_triage_dataset
from lib.emails.evaluate import classification_scores


def test_demo_categories_are_learnable_but_not_trivial():
    df = generate_demo_inbox(n=600, seed=1)
    X = [clean_email(t, s) for t, s in zip(df["text"], df["subject"])]
    folds, oof = cross_validate(make_baseline("linear_svc"), X, df["category"].tolist(), n_splits=3, progress=False)
    assert oof.shape == (600, 6) and len(folds) == 3
    assert 0.6 < folds["macro_f1"].mean() < 0.97  # far above chance (1/6), below perfect
    table = summarise_cv({"svc": folds})
    assert {"cv_macro_f1", "cv_macro_f1_std", "cv_accuracy"} <= set(table.columns)


def test_unknown_model_and_single_example_class():
    with pytest.raises(ValueError, match="unknown model"):
        make_baseline("forest")
    with pytest.raises(ValueError, match="single example"):
        cross_validate(make_baseline(), ["a b", "c d", "e f"], ["x", "x", "y"], progress=False)


@pytest.mark.slow
def test_intents_fr_baseline_reaches_080_macro_f1(real_data):
    data = load_triage_dataset(str(real_data), "intents_fr", seed=42)
    assert data.source == "real" and len(data.labels) == 22 and len(data.test) == 913 and not data.has_urgency
    model = make_baseline("linear_svc", C=0.5).fit(data.train["text"].tolist(), data.train["label"].tolist())
    scores = classification_scores(data.test["label"], model.predict(data.test["text"].tolist()), data.labels)
    assert scores["macro_f1"] >= 0.80, scores
    assert np.isfinite(scores["accuracy"]) and scores["accuracy"] >= 0.80
