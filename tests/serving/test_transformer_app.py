"""The fine-tuned transformer of notebook 03 is served by the same app (--model-dir models/emails/transformer)."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def transformer_dir(tmp_path_factory):
    from lib.emails.data import load_triage_dataset
    from lib.emails.pipeline import save_transformer_pipeline
    from lib.emails.preprocess import Preprocessor
    from lib.text.transformer import FineTuneConfig, fine_tune

    pre = Preprocessor(use_ner=False)
    data = load_triage_dataset("", "demo", seed=0, n_demo=150, preprocessor=pre, cache=False)
    cfg = FineTuneConfig(model_name="minilm-l6", learning_rate=3e-4, batch_size=16, epochs=2, max_length=32, seed=0,
                         freeze_embeddings=False)
    res = fine_tune(data.train["text"], data.train["label"], None, None, data.labels, cfg, progress=False)
    return save_transformer_pipeline(res, tmp_path_factory.mktemp("models") / "transformer", temperature=1.3,
                                     threshold=0.2, preprocessor=pre, data={"source": "demo"})


def test_transformer_folder_serves_predictions(transformer_dir):
    from lib.emails.pipeline import TriagePipeline
    from lib.serving import create_app

    pipe = TriagePipeline.load(transformer_dir)
    assert pipe.encoder_classifier is not None and pipe.category_model is None and pipe.temperature == 1.3
    with TestClient(create_app(transformer_dir, max_chars=2_000)) as client:
        health = client.get("/health").json()
        assert health["model_loaded"] and health["model_name"] == "email-triage-transformer"
        r = client.post("/predict", json={"text": "Bonjour, je n'arrive pas à me connecter à l'ENT depuis hier."})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["category"] in health["labels"] and 0 < body["confidence"] <= 1
        assert any("fine-tuned minilm-l6" in reason for reason in body["reasons"])
        assert client.post("/predict", json={"text": "<div> </div>"}).status_code == 422
