"""Global weights and LIME on a toy model whose deciding words are known."""
from __future__ import annotations

import numpy as np
import pytest

from lib.emails.baselines import make_baseline
from lib.explain.lime_text import explain_texts, explanation_table, explanations_html
from lib.explain.linear import _coef, _parts, feature_names, plot_top_ngrams, reasons_from_row, top_ngrams

TEXTS = [f"bonjour {w} merci {i}" for i in range(30) for w in ("convention stage", "salaire paie", "note examen")]
LABELS = [c for _ in range(30) for c in ("stage", "rh", "notes")]


@pytest.fixture(scope="module")
def model():
    return make_baseline("logreg", C=10.0).fit(TEXTS, LABELS)


def test_top_ngrams_find_the_deciding_words(model):
    t = top_ngrams(model, k=5)
    words = t[t["kind"] == "word"]
    assert set(words[words["class"] == "rh"]["ngram"]) & {"salaire", "paie", "salaire paie"}
    assert not set(words[words["class"] == "rh"]["ngram"]) & {"bonjour", "merci", "convention"}
    fig = plot_top_ngrams(t, k=3)
    assert len(fig.axes) >= 3


def test_reasons_are_the_words_that_pushed_towards_the_class(model):
    vec, clf = _parts(model)  # as the served pipeline calls it
    row = vec.transform(["ma convention de stage <PERSON>"]).tocsr()
    k = list(model.classes_).index("stage")
    reasons = reasons_from_row(row, _coef(clf)[k], feature_names(model), k=4)
    assert set(reasons) & {"convention", "stage"} and "person" not in reasons
    assert not reasons_from_row(row, -np.abs(_coef(clf)[k]), feature_names(model))  # no positive contribution


def test_binary_model_is_supported():
    m = make_baseline("linear_svc").fit(TEXTS[:60], ["a" if "stage" in t else "b" for t in TEXTS[:60]])
    t = top_ngrams(m, k=3)
    assert set(t["class"]) == {"a", "b"}


def test_lime_puts_the_deciding_word_first(model):
    exps = explain_texts(model.predict_proba, ["bonjour salaire merci"], list(model.classes_), num_features=3,
                         num_samples=300, seed=0, progress=False)
    table = explanation_table(exps, list(model.classes_))
    assert table.iloc[0]["class"] == "rh" and table.iloc[0]["word"] == "salaire" and table.iloc[0]["weight"] > 0
    html = explanations_html(exps, ["toy"])
    assert "<h4>toy</h4>" in html and len(html) > 1000
    assert np.isfinite(table["weight"]).all()
