"""The triage API: status codes, response schema, every bad input, health before/after loading, no text in logs."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lib.serving import create_app
from lib.serving.app import TEXT_PATTERN

SECRET = "Zéphyrine Quillard-Montrésor"  # a string that must never reach the logs
EMAIL = (f"Bonjour, je suis {SECRET}. Je voudrais candidater au master d'informatique, "
         "pouvez-vous me dire si mon dossier de candidature est complet ? C'est urgent. Merci")
KEYS = {"category", "urgency", "confidence", "reasons", "reply_suggestion", "abstained"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A real TriagePipeline (TF-IDF + LinearSVC, temperature, threshold, urgency) fitted on a small demo inbox."""
    from lib.emails.data import load_triage_dataset
    from lib.emails.preprocess import Preprocessor
    from lib.emails.train import fit_triage_pipeline

    data = load_triage_dataset("", "demo", seed=0, n_demo=240, preprocessor=Preprocessor(use_ner=False), cache=False)
    pipe, _ = fit_triage_pipeline(data, n_splits=3, seed=0, name="test-triage", version="t1")
    return pipe.save(tmp_path_factory.mktemp("model") / "triage")


@pytest.fixture(scope="module")
def client(model_dir) -> TestClient:
    with TestClient(create_app(model_dir, max_chars=2_000)) as c:  # the context runs the startup (loading)
        yield c


def test_health_reports_the_loaded_model(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["model_loaded"] is True and body["status"] == "ok"
    assert body["model_name"] == "test-triage" and body["model_version"] == "t1"
    assert len(body["labels"]) == 6 and body["max_chars"] == 2_000


def test_predict_returns_the_schema_and_a_sensible_answer(client):
    r = client.post("/predict", json={"text": EMAIL, "lang": "fr"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == KEYS
    assert out["category"] in client.get("/health").json()["labels"]
    assert out["category"] == "Candidature"
    assert 0.0 <= out["confidence"] <= 1.0 and isinstance(out["abstained"], bool)
    assert out["urgency"] == "haute"  # explicit marker "urgent"
    assert out["reasons"] and all(isinstance(x, str) for x in out["reasons"])
    assert out["reply_suggestion"].startswith("Bonjour")  # French reply to a French e-mail


def test_predict_english_reply_and_detected_language(client):
    r = client.post("/predict", json={"text": "Hello, could I get an official transcript of my grades for the "
                                              "last semester? Thank you."})
    assert r.status_code == 200
    assert not r.json()["reply_suggestion"].startswith("Bonjour")


@pytest.mark.parametrize("payload, status, needle", [
    ({"text": ""}, 422, "empty"),
    ({"text": "   \n\t  "}, 422, "empty"),
    ({"text": "\x1f\x1e \x85"}, 422, "empty"),  # whitespace to Python, not to every regex engine
    ({"text": 12345}, 422, "text"),
    ({"text": ["a", "b"]}, 422, "text"),
    ({"text": None}, 422, "text"),
    ({}, 422, "required"),
    ({"text": "Bonjour", "lang": "de"}, 422, "lang"),
    ({"text": "Bonjour", "lang": 3}, 422, "lang"),
    ({"text": "Bonjour", "texte": "x"}, 422, "unknown field"),
    ({"text": "a" * 2_001}, 422, "limit is 2000"),  # the schema's maxLength: a 422 like every schema violation
])
def test_bad_inputs_get_a_clear_4xx(client, payload, status, needle):
    r = client.post("/predict", json=payload)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_malformed_json_and_non_object_bodies(client):
    r = client.post("/predict", content=b'{"text": "Bonjour', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "malformed JSON" in r.json()["detail"]
    r = client.post("/predict", content=b'["Bonjour"]', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON object" in r.json()["detail"]
    r = client.post("/predict", content=b"text=Bonjour", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("text", [
    "<div> </div>",
    "<html><body><p>&nbsp;</p></body></html>",
    "> Bonjour, ceci est le message d'origine cité.\n> Merci d'avance.",
    "--\nMarie Dupont\nService de la scolarité\nTél. 01 23 45 67 89",
])
def test_text_empty_after_cleaning_gets_422_not_a_guess(client, text):
    r = client.post("/predict", json={"text": text})
    assert r.status_code == 422, r.text
    assert "nothing left to triage after cleaning" in r.json()["detail"]


def test_chunked_body_over_the_cap_is_refused_without_content_length(client):
    def chunks():
        yield b'{"text": "'
        for _ in range(50):
            yield b"a" * 10_000  # 500 kB in all, far over the cap of 2000 * 6 + 4096 bytes
        yield b'"}'

    r = client.post("/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    ok = client.post("/predict", content=iter([b'{"text": "Bonjour, ', b'ma convention de stage ?"}']),
                     headers={"Content-Type": "application/json"})
    assert ok.status_code == 200, ok.text  # a small chunked body goes through


def test_openapi_schema_states_the_limits_the_server_enforces(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]["properties"]["text"]
    assert schema["minLength"] == 1 and schema["maxLength"] == 2_000 and schema["pattern"] == TEXT_PATTERN


@pytest.fixture(scope="module")
def api_schema(client):
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", client.app)


def _fuzz_settings():
    from hypothesis import HealthCheck, settings

    return settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


@pytest.mark.slow
def test_schemathesis_finds_no_failure(api_schema):
    """Schema-driven fuzzing of every operation, positive and negative cases, all default checks: 0 failures."""
    from hypothesis import given
    from schemathesis import GenerationMode

    failures, calls = [], {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @_fuzz_settings()
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                calls[(operation.label, mode.value)] = calls.get((operation.label, mode.value), 0) + 1
                try:
                    case.call_and_validate()
                except Exception as err:  # keep fuzzing the other operations, then report all
                    failures.append(f"{operation.label} [{mode.value}]: {type(err).__name__}: {str(err)[:300]}")
                    raise

            try:
                fuzz()
            except Exception:
                pass
    assert not failures, "\n".join(failures)
    assert calls.get(("POST /predict", "positive"), 0) >= 30 and calls.get(("POST /predict", "negative"), 0) >= 30, calls


def test_stage_timings_are_logged_as_numbers_without_text(client, caplog):
    with caplog.at_level(logging.INFO, logger="lib.serving"):
        assert client.post("/predict", json={"text": EMAIL}).status_code == 200
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("predict chars="))
    for stage in ("clean_ms=", "ner_ms=", "language_ms=", "model_ms=", "reasons_ms="):
        assert stage in line
    assert SECRET not in caplog.text


def test_oversized_body_is_refused_before_parsing(client):
    r = client.post("/predict", content=b'{"text": "' + b"a" * 200_000 + b'"}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_errors_do_not_echo_the_text(client):
    r = client.post("/predict", json={"text": SECRET, "lang": "xx"})
    assert r.status_code == 422 and SECRET not in r.text


def test_request_texts_are_not_logged(client, caplog):
    with caplog.at_level(logging.DEBUG):
        assert client.post("/predict", json={"text": EMAIL}).status_code == 200
        client.post("/predict", json={"text": SECRET * 200})
    assert caplog.records, "the API should log sizes and outcomes"
    assert SECRET not in caplog.text


def test_page_and_openapi_docs(client):
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text and "2000" in page.text
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/predict" in schema["paths"] and "/health" in schema["paths"]


def test_missing_model_gives_503_then_loads_when_saved(tmp_path, model_dir):
    folder = tmp_path / "triage"
    app = create_app(folder)
    with TestClient(app) as c:
        h = c.get("/health").json()
        assert h["model_loaded"] is False and h["status"] == "model_not_loaded"
        assert "02_emails_baselines" in h["detail"]
        r = c.post("/predict", json={"text": EMAIL})
        assert r.status_code == 503 and "02_emails_baselines" in r.json()["detail"]
        # bad input is still a 4xx (validated before the model is needed)
        assert c.post("/predict", json={"text": " "}).status_code == 422
        shutil.copytree(model_dir, folder)
        h = c.get("/health").json()
        assert h["model_loaded"] is True and h["model_name"] == "test-triage"
        assert c.post("/predict", json={"text": EMAIL}).status_code == 200


def test_broken_model_folder_is_reported_not_crashed(tmp_path):
    folder = tmp_path / "triage"
    folder.mkdir()
    (folder / "meta.json").write_text("{not json")
    (folder / "model.joblib").write_bytes(b"garbage")
    with TestClient(create_app(folder)) as c:
        h = c.get("/health")
        assert h.status_code == 200 and h.json()["model_loaded"] is False
        assert "could not load" in h.json()["detail"]
        assert c.post("/predict", json={"text": EMAIL}).status_code == 503


def test_pipeline_errors_become_a_500_without_the_text(tmp_path, caplog):
    class Exploding:
        name, version, labels, threshold = "boom", "0", ["a"], 0.5

        def triage(self, text, lang=None):
            raise RuntimeError(f"failed on {text}")

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "meta.json").write_text("{}")
    with TestClient(create_app(folder, loader=lambda _: Exploding())) as c, caplog.at_level(logging.DEBUG):
        r = c.post("/predict", json={"text": SECRET})
    assert r.status_code == 500 and SECRET not in r.text
    assert SECRET not in caplog.text


def test_the_pii_detector_can_be_chosen_at_start_up(model_dir):
    assert TestClient(create_app(model_dir)).app  # the saved one (patterns only, as trained above)
    with TestClient(create_app(model_dir, pii_detector="spacy-sm")) as c:
        assert c.get("/health").json()["pii_detector"] == "spacy-sm"
        assert c.post("/predict", json={"text": EMAIL}).status_code == 200
    with pytest.raises(ValueError, match="unknown PII detector"):
        create_app(model_dir, pii_detector="camembert-ner")
