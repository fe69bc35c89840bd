"""The model card carries the metrics it was given, says when data is synthetic, and renders to HTML."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.emails.model_card import ModelCard, write_model_card
from lib.evaluation.bias import bias_report


def _card(source: str = "demo") -> ModelCard:
    y = np.array(["a", "b"] * 50)
    p = y.copy()
    p[:40] = np.where(p[:40] == "a", "b", "a")  # the "fr" half is much worse
    rep = bias_report(y, p, {"language": ["fr"] * 50 + ["en"] * 50}, threshold=0.05, min_count=10)
    return ModelCard(
        model_name="email-triage-ensemble", version="3",
        data={"source": source, "name": "demo inbox (synthetic)" if source == "demo" else "intents_fr",
              "n_train": 960, "n_test": 240},
        metrics={"ensemble": {"macro_f1": 0.9137, "accuracy": 0.9208}, "tfidf_svc": {"macro_f1": 0.8812}},
        model_details={"base_model": "minilm-l6", "best_config": {"learning_rate": 5e-5, "batch_size": 16}},
        calibration={"temperature": 1.7321, "ece_before": 0.1234, "ece_after": 0.0345},
        abstention={"threshold": 0.61, "target_accuracy": 0.95, "automation_rate": 0.8125, "accuracy_accepted": 0.96},
        bias=rep, pii={"EMAIL": {"precision": 1.0, "recall": 0.987}},
        limitations=["A custom limitation."], run={"profile": "smoke", "seed": 42, "git_commit": "abc"})


def test_card_contains_the_given_metrics_and_sections():
    md = _card().to_markdown()
    for figure in ("0.9137", "0.9208", "0.8812", "1.732", "0.1234", "0.0345", "81.2 %", "0.987"):
        assert figure in md, figure
    for section in ("## Intended use", "## Data", "## Metrics", "## Calibration", "## Abstention",
                    "## Bias analysis", "## Personal data (PII) handling", "## Limitations"):
        assert section in md
    assert "SYNTHETIC" in md and "A custom limitation." in md
    assert "FLAG language = fr" in md and "English, uncased" in md


def test_real_data_card_does_not_claim_synthetic():
    md = _card("real").to_markdown()
    assert "SYNTHETIC" not in md and "Synthetic data" not in md and "intents_fr" in md


def test_write_model_card_writes_markdown_and_html(tmp_path):
    md_path, html_path = write_model_card(_card(), tmp_path)
    assert md_path.read_text().startswith("# Model card: email-triage-ensemble")
    page = html_path.read_text()
    assert "<table>" in page and "0.9137" in page and "<h2>Limitations</h2>" in page


def test_card_says_when_the_abstention_target_is_missed_on_test():
    card = _card()
    card.abstention = {**card.abstention, "accuracy_accepted": 0.84, "target_accuracy": 0.9}
    assert "target accuracy is not met" in card.to_markdown()
    assert "target accuracy is not met" not in _card().to_markdown()
