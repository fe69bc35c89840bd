"""The API load benchmark still runs end to end (a few seconds, loopback), with the default name detector."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_api_load_benchmark_runs_and_reports_zero_errors(tmp_path):
    from lib.emails.data import load_triage_dataset
    from lib.emails.preprocess import Preprocessor
    from lib.emails.train import fit_triage_pipeline

    data = load_triage_dataset("", "demo", seed=0, n_demo=200, preprocessor=Preprocessor(use_ner=False), cache=False)
    pipe, _ = fit_triage_pipeline(data, n_splits=3, seed=0, name="bench-triage", version="b1")
    model = pipe.save(tmp_path / "triage")
    out = tmp_path / "api_load.json"
    proc = subprocess.run([sys.executable, "benchmarks/api_load.py", "--model-dir", str(model), "--clients", "2",
                           "--duration", "3", "--max-requests", "30", "--warmup", "2", "--n-texts", "20",
                           "--stage-texts", "5", "--pii-detector", "spacy-md+gazetteer", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["results"]["requests"] > 0 and record["results"]["errors"] == 0
    assert record["model"]["pii_detector"] == "spacy-md+gazetteer"
    assert record["stages_ms"]["total"]["mean"] > 0
