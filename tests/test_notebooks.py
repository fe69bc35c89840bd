"""Notebook hygiene (one parameters cell, no outputs, config keys declared) and the smoke run of every notebook."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REQUIRED = ("notebook", "profile", "data", "headline", "params", "timings_s", "git_commit", "versions")
# Loose floors on the smoke run's demo data (measured: 01 0.997, 02 0.731, 03 0.802 / 0.731, 04 0.909, 05 0.821,
# 06 0.955, 08 0.833): far from the values, far above chance, so a change that breaks a model fails CI.
FLOORS = {
    "01_emails_eda": {"pii_person_recall": 0.9, "pii_email_recall_heldout": 0.9},
    "02_emails_baselines": {"test_macro_f1": 0.55},
    "03_emails_transformers": {"best_test_macro_f1": 0.6, "tfidf_test_macro_f1": 0.55},
    "04_products_text": {"text_weighted_f1": 0.7},
    "05_products_image_voting": {"vote_weighted_f1": 0.6},
    "06_products_fusion": {"fusion_weighted_f1": 0.7},
    "08_fruits_spark_pca": {"accuracy_pca": 0.5},
}


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_environment.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_parameters_cell_and_no_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    from lib.runner.cli import notebook_parameters

    declared = notebook_parameters(path)  # papermill must parse every line (no "=" inside comments)
    assert len(declared) == len([l for l in tagged[0].source.splitlines() if l.strip() and not l.startswith("#")])
    for name in ("SEED", "PROFILE", "DATA_DIR"):
        assert name in declared, f"{path.name} lacks the {name} parameter"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name} has outputs"
            assert not any(line.startswith(("def ", "class ")) for line in cell.source.splitlines()), \
                f"{path.name} defines functions: they belong in lib/"
    assert nb.cells[0].cell_type == "markdown", f"{path.name} must open with a title cell"


@pytest.mark.parametrize("profile", ["smoke", "default", "full"])
def test_profile_keys_are_declared_by_the_notebooks(profile):
    from lib.runner.cli import notebook_parameters

    config = yaml.safe_load((ROOT / "configs" / f"{profile}.yaml").read_text())
    for path in NOTEBOOKS:
        declared = notebook_parameters(path)
        keys = set(config.get("common", {})) | set(config.get(path.stem) or {})
        assert keys <= set(declared), f"{profile}.yaml sets {keys - set(declared)} not declared by {path.name}"


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """Run every notebook once on the smoke profile (demo data) into a temporary reports folder."""
    reports = tmp_path_factory.mktemp("smoke") / "reports"
    env = {**os.environ, "CASEBOOK_REPORTS_DIR": str(reports), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "lib.runner", "--profile", "smoke", "--keep-going",
                           "--reports-dir", str(reports)], cwd=ROOT, env=env, capture_output=True, text=True)
    print(proc.stdout[-5000:], proc.stderr[-5000:])
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "runner.log").write_text(proc.stdout + proc.stderr)
    return reports


@pytest.mark.slow
@pytest.mark.smoke
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_smoke_run_of_every_notebook(smoke_run, path):
    manifest = json.loads((smoke_run / "run_manifest.json").read_text())
    entry = {n["name"]: n for n in manifest["notebooks"]}[path.stem]
    assert entry["status"] == "ok", f"{path.stem} failed: {entry['error']} (see {smoke_run / (path.stem + '.html')})"
    metrics = json.loads((smoke_run / "metrics" / f"{path.stem}.json").read_text())
    for key in REQUIRED:
        assert key in metrics, f"{path.stem} metrics lack {key}"
    assert metrics["profile"] == "smoke" and metrics["headline"]
    assert metrics["data"]["source"] in ("demo", "real")
    assert (smoke_run / f"{path.stem}.html").stat().st_size > 10_000
    assert (smoke_run / "notebooks" / f"{path.stem}.html").stat().st_size > 10_000
    assert path.stem in (smoke_run / "index.html").read_text()
    for key, floor in FLOORS.get(path.stem, {}).items():
        assert metrics["headline"][key] >= floor, f"{path.stem}: {key} = {metrics['headline'][key]} < {floor}"
