"""TriagePipeline: output schema, abstention, PII never in the output, save/load round trip."""
from __future__ import annotations

import json

import pytest

from lib.emails.data import load_triage_dataset
from lib.emails.pipeline import OUTPUT_KEYS, TriagePipeline
from lib.emails.preprocess import Preprocessor
from lib.emails.train import fit_triage_pipeline

RAW = ("<p>Bonjour Madame Lefèvre,</p><p>Ma convention de stage chez Airbus n'est pas signée, c'est urgent ! "
       "Écrivez-moi à paul.martin@gmail.com ou au 06 12 34 56 78.</p><p>Cordialement,<br>Paul Martin</p>")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    data = load_triage_dataset("", "demo", seed=0, n_demo=300, preprocessor=Preprocessor(use_ner=False), cache=False)
    pipe, cal = fit_triage_pipeline(data, model="linear_svc", n_splits=3, seed=0, target_accuracy=0.9)
    return data, pipe, cal


def test_output_schema_and_types(fitted):
    data, pipe, cal = fitted
    out = pipe.triage(RAW)
    assert tuple(out) == OUTPUT_KEYS
    assert out["category"] in pipe.labels and out["urgency"] == "haute"  # explicit marker "urgent"
    assert 0.0 < out["confidence"] <= 1.0 and isinstance(out["abstained"], bool)
    assert isinstance(out["reasons"], list) and all(isinstance(r, str) for r in out["reasons"])
    assert any("urgent" in r for r in out["reasons"])
    assert out["reply_suggestion"].startswith("Bonjour")  # French e-mail → French reply
    en = pipe.triage("Hello, I cannot log in to my student account, could you help? Thanks")
    assert en["reply_suggestion"].startswith("Hello")
    assert pipe.triage("Hello", lang="fr")["reply_suggestion"].startswith("Bonjour")  # caller's language wins


def test_no_raw_pii_in_the_output(fitted):
    _, pipe, _ = fitted
    text = json.dumps(pipe.triage(RAW), ensure_ascii=False)
    for raw in ("paul.martin@gmail.com", "06 12 34 56 78", "Lefèvre"):
        assert raw not in text


def test_temperature_and_threshold_are_applied(fitted):
    data, pipe, cal = fitted
    assert pipe.temperature == cal.temperature and pipe.threshold == cal.reject.threshold
    assert cal.ece_after <= cal.ece_before
    p = pipe.predict_proba(data.test["text"].tolist()[:20])
    assert p.shape == (20, len(pipe.labels))
    strict = TriagePipeline(pipe.name, pipe.version, pipe.labels, pipe.category_model, pipe.temperature, 1.01,
                            preprocessor=pipe.preprocessor)
    out = strict.triage(RAW)
    assert out["abstained"] and "personnellement" in out["reply_suggestion"]
    assert pipe.urgency_model is not None  # the demo inbox has urgency labels


def test_save_load_round_trip(fitted, tmp_path):
    data, pipe, _ = fitted
    pipe.metrics = {"test_macro_f1": 0.5}
    pipe.save(tmp_path / "m")
    back = TriagePipeline.load(tmp_path / "m")
    assert (back.name, back.version, back.labels, back.temperature, back.threshold) == \
           (pipe.name, pipe.version, pipe.labels, pipe.temperature, pipe.threshold)
    assert back.preprocessor.config() == pipe.preprocessor.config() and back.metrics == pipe.metrics
    texts = data.test["text"].tolist()[:10]
    assert back.triage_prepared(texts, ["fr"] * 10) == pipe.triage_prepared(texts, ["fr"] * 10)
    assert back.triage(RAW) == pipe.triage(RAW)


def test_errors(fitted, tmp_path):
    _, pipe, _ = fitted
    with pytest.raises(FileNotFoundError, match="run notebooks/02"):
        TriagePipeline.load(tmp_path / "missing")
    with pytest.raises(ValueError, match="empty"):
        pipe.triage("   ")
    with pytest.raises(ValueError, match="differ"):
        TriagePipeline("x", "1", list(reversed(pipe.labels)), pipe.category_model)
