"""--resume reruns only what failed or changed (and what depends on it); --from NN runs NN onwards."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from lib.runner.cli import main
from lib.runner.resume import decide, study_of

PARAMS = 'SEED = 42  # seed\nPROFILE = "default"  # profile\nDATA_DIR = ""  # data\nN = 1  # a size'
WRITES = """from pathlib import Path
from lib.core import start_run
from lib.core.paths import models_dir
run = start_run("{stem}", params=dict(SEED=SEED, PROFILE=PROFILE, DATA_DIR=DATA_DIR, N=N))
{extra}
run.set_data(source="demo", name="nothing (synthetic)", n_train=1, n_test=1)
run.finish(headline={{"n": N}})"""


def _notebook(path: Path, extra: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params,
                nbformat.v4.new_code_cell(WRITES.format(stem=path.stem, extra=extra))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _statuses(reports: Path) -> dict[str, tuple[str, str]]:
    manifest = json.loads((reports / "run_manifest.json").read_text())
    return {n["name"]: (n["status"], n["reason"]) for n in manifest["notebooks"]}


@pytest.mark.slow
def test_resume_keeps_what_is_unchanged_and_reruns_the_rest(tmp_path, monkeypatch):
    books, reports, models = tmp_path / "notebooks", tmp_path / "reports", tmp_path / "models"
    monkeypatch.setenv("CASEBOOK_MODELS_DIR", str(models))
    monkeypatch.setenv("CASEBOOK_REPORTS_DIR", str(reports))
    books.mkdir()
    _notebook(books / "01_alpha_train.ipynb",
              'd = models_dir() / "alpha"; d.mkdir(parents=True, exist_ok=True); (d / "model.txt").write_text("m")')
    _notebook(books / "02_alpha_use.ipynb", 'assert (models_dir() / "alpha" / "model.txt").read_text() == "m"')
    _notebook(books / "03_beta_other.ipynb")

    def run(*args: str) -> int:
        return main(["--profile", "smoke", "--notebooks-dir", str(books), "--reports-dir", str(reports), *args])

    assert run("--resume") == 0  # nothing ran before: everything runs
    assert {k: v[0] for k, v in _statuses(reports).items()} == {"01_alpha_train": "ok", "02_alpha_use": "ok",
                                                                "03_beta_other": "ok"}
    assert run("--resume") == 0  # the second run keeps everything
    second = _statuses(reports)
    assert all(s == "kept" and r.startswith("unchanged") for s, r in second.values()), second
    assert (reports / "03_beta_other.html").exists() and "kept" in (reports / "index.html").read_text()

    _notebook(books / "03_beta_other.ipynb", "x = 1")  # the notebook changed: only it reruns
    assert run("--resume") == 0
    third = _statuses(reports)
    assert third["03_beta_other"] == ("ok", "changed: notebook") and third["01_alpha_train"][0] == "kept"

    (models / "alpha" / "model.txt").unlink()  # a saved model a later notebook reads is gone
    assert run("--resume") == 0
    fourth = _statuses(reports)
    assert fourth["01_alpha_train"] == ("ok", "output missing: models/alpha/model.txt")
    assert fourth["02_alpha_use"] == ("ok", "an earlier alpha notebook reran") and fourth["03_beta_other"][0] == "kept"

    _notebook(books / "03_beta_other.ipynb", 'raise RuntimeError("broken")')
    assert run("--resume") == 1
    _notebook(books / "03_beta_other.ipynb")
    assert run("--resume") == 0 and _statuses(reports)["03_beta_other"][1] in ("last run failed", "changed: notebook")

    assert run("--from", "02") == 0  # --from: that notebook and every later one, whatever changed
    assert list(_statuses(reports)) == ["02_alpha_use", "03_beta_other"]
    assert run("--from", "9") == 2


def test_decide_reasons_and_study_grouping(tmp_path):
    from lib.runner.resume import input_digests

    nb = tmp_path / "05_products_voting.ipynb"
    nb.write_text("{}")
    one, two = input_digests(nb, {"N": 1}, "lib", "demo"), input_digests(nb, {"N": 2}, "lib", "demo")
    assert one["parameters"] != two["parameters"] and one["notebook"] == two["notebook"]  # -p changes an input
    digests = {"notebook": "a", "lib": "b", "parameters": "c", "data": "d"}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "05_products_voting.json").write_text("{}")
    ok = {"05_products_voting": {"status": "ok", "digests": digests, "outputs": []}}
    assert decide("05_products_voting", digests, ok, tmp_path, tmp_path, set()) is None
    assert decide("05_products_voting", {**digests, "lib": "x"}, ok, tmp_path, tmp_path, set()) == "changed: lib"
    assert decide("05_products_voting", {**digests, "data": "y"}, ok, tmp_path, tmp_path, set()) == "changed: data"
    assert decide("05_products_voting", {**digests, "parameters": "z"}, ok, tmp_path, tmp_path, set()) == \
        "changed: parameters"
    assert decide("05_products_voting", digests, ok, tmp_path, tmp_path, {"products"}).startswith("an earlier")
    assert decide("05_products_voting", digests, {}, tmp_path, tmp_path, set()) == "no earlier run"
    assert study_of("02_emails_baselines") == "emails" and study_of("08_fruits_spark_pca") == "fruits"


def test_data_and_lib_digests_follow_their_files(tmp_path):
    from lib.runner.resume import data_digest, lib_digest

    assert data_digest("") == "demo"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("x")
    before = data_digest(str(tmp_path / "d"))
    (tmp_path / "d" / "b.csv").write_text("y")
    assert data_digest(str(tmp_path / "d")) != before
    (tmp_path / "lib" / "pkg").mkdir(parents=True)
    (tmp_path / "lib" / "pkg" / "m.py").write_text("A = 1\n")
    first = lib_digest(tmp_path)
    (tmp_path / "lib" / "pkg" / "m.py").write_text("A = 2\n")
    assert lib_digest(tmp_path) != first
