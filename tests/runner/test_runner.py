"""run_all.sh / lib.runner behaviour: failures are readable, --keep-going, bad arguments exit 2."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from lib.runner.cli import main
from tests.conftest import ROOT

PARAMS = 'SEED = 42  # seed\nPROFILE = "default"  # profile\nDATA_DIR = ""  # data'


def _notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test notebook"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


OK_BODY = """from lib.core import start_run
run = start_run("{stem}", params=dict(SEED=SEED, PROFILE=PROFILE, DATA_DIR=DATA_DIR))
run.set_data(source="demo", name="nothing (synthetic)", n_train=1, n_test=1)
run.finish(headline={{"answer": 42}})"""


@pytest.fixture()
def books(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_fails.ipynb", 'raise ValueError("deliberate failure for the test")')
    _notebook(folder / "02_works.ipynb", OK_BODY.format(stem="02_works"))
    return folder


def _run(books: Path, tmp_path: Path, *args: str) -> tuple[int, Path]:
    reports = tmp_path / "reports"
    code = main(["--profile", "smoke", "--notebooks-dir", str(books), "--reports-dir", str(reports), *args])
    return code, reports


@pytest.mark.slow
def test_failing_notebook_gives_readable_html_and_stops(books, tmp_path, monkeypatch):
    monkeypatch.setenv("CASEBOOK_REPORTS_DIR", str(tmp_path / "reports"))
    code, reports = _run(books, tmp_path)
    assert code == 1
    html = (reports / "01_fails.html").read_text()
    assert "deliberate failure for the test" in html and "ValueError" in html
    manifest = json.loads((reports / "run_manifest.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["failed", "skipped"]
    assert not (reports / "metrics" / "02_works.json").exists()
    assert "01_fails" in (reports / "index.html").read_text()


@pytest.mark.slow
def test_keep_going_runs_the_rest_and_still_fails(books, tmp_path, monkeypatch):
    monkeypatch.setenv("CASEBOOK_REPORTS_DIR", str(tmp_path / "reports"))
    code, reports = _run(books, tmp_path, "--keep-going")
    assert code == 1
    manifest = json.loads((reports / "run_manifest.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["failed", "ok"]
    metrics = json.loads((reports / "metrics" / "02_works.json").read_text())
    assert metrics["headline"] == {"answer": 42} and metrics["profile"] == "smoke"
    index = (reports / "index.html").read_text()
    assert "answer" in index and "02_works.html" in index and "demo (synthetic)" in index
    for key in ("git_commit", "profile", "python", "versions", "notebooks", "data"):
        assert key in manifest
    # selecting one notebook by number runs only that one
    code, reports = _run(books, tmp_path, "2")
    assert code == 0
    assert [n["name"] for n in json.loads((reports / "run_manifest.json").read_text())["notebooks"]] == ["02_works"]


def test_bad_arguments_exit_2(books, tmp_path, capsys):
    assert _run(books, tmp_path, "--profile", "nope")[0] == 2  # last --profile wins
    assert "unknown profile" in capsys.readouterr().err
    assert _run(books, tmp_path, "07")[0] == 2
    assert "unknown notebook number" in capsys.readouterr().err
    assert _run(books, tmp_path, "--data", str(tmp_path / "missing"))[0] == 2
    assert "no such directory" in capsys.readouterr().err
    assert _run(books, tmp_path, "--bogus")[0] == 2


def test_unknown_config_parameter_is_an_error(books, tmp_path, capsys, monkeypatch):
    import lib.runner.cli as cli

    monkeypatch.setattr(cli, "load_profile", lambda _c, _p: {"common": {"SEED": 1}, "02_works": {"EPOCHS": 3}})
    assert _run(books, tmp_path, "2")[0] == 2
    assert "does not declare: EPOCHS" in capsys.readouterr().err


def test_param_overrides_are_validated(books, tmp_path, capsys):
    assert _run(books, tmp_path, "-p", "EPOCHS=3", "2")[0] == 2
    assert "does not declare: EPOCHS" in capsys.readouterr().err
    assert _run(books, tmp_path, "-p", "SEED", "2")[0] == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert _run(books, tmp_path, "-p", "PROFILE=full", "2")[0] == 2


def test_parse_overrides_types():
    from lib.runner.cli import parse_overrides

    assert parse_overrides(["A=3", "B=true", "C=rakuten_sample", "D=0.5", "E="]) == {
        "A": 3, "B": True, "C": "rakuten_sample", "D": 0.5, "E": ""}


@pytest.mark.parametrize("args, message", [
    (["--profile", "nope"], "unknown profile"),
    (["--data", "/no/such/dir"], "no such directory"),
    (["99"], "unknown notebook number"),
    (["--frobnicate"], "unknown option"),
    (["-p", "SEED"], "NAME=VALUE"),
])
def test_run_all_sh_rejects_bad_arguments_before_setup(args, message):
    proc = subprocess.run([str(ROOT / "run_all.sh"), *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert message in proc.stderr
