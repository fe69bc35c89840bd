import json

import numpy as np
import pytest

from lib.core import start_run
from lib.core.datasets import DatasetNotFoundError, resolve_dataset


def test_metrics_file_has_the_required_fields(isolated_outputs):
    run = start_run("99_example", params={"SEED": 3, "PROFILE": "smoke", "N": 5})
    with run.timer("fit"):
        a = np.random.rand()
    run.set_data(source="demo", name="demo set (synthetic)", n_train=10, n_test=4)
    path = run.finish(headline={"macro_f1": np.float64(0.5), "n": np.int64(3)}, table=[{"x": np.nan}])
    record = json.loads(path.read_text())
    assert path.name == "99_example.json" and path.parent.name == "metrics"
    for key in ("notebook", "profile", "data", "headline", "params", "timings_s", "git_commit", "versions"):
        assert key in record
    assert record["data"] == {"source": "demo", "name": "demo set (synthetic)", "n_train": 10, "n_test": 4}
    assert record["headline"] == {"macro_f1": 0.5, "n": 3}
    assert record["profile"] == "smoke" and record["params"]["N"] == 5
    assert "fit" in record["timings_s"] and "total" in record["timings_s"]
    assert record["extra"]["table"] == [{"x": None}]
    # seeding is real: the same seed gives the same draw
    start_run("99_example", params={"SEED": 3, "PROFILE": "smoke"})
    assert np.random.rand() == a


def test_finish_refuses_missing_data_and_nested_headline(isolated_outputs):
    run = start_run("99_example", params={"SEED": 0, "PROFILE": "smoke"})
    with pytest.raises(RuntimeError, match="set_data"):
        run.finish(headline={"a": 1})
    with pytest.raises(ValueError, match="real.*demo"):
        run.set_data(source="fake", name="x")
    run.set_data(source="real", name="x")
    with pytest.raises(ValueError, match="flat"):
        run.finish(headline={"per_class": {"a": 1}})


def test_start_run_requires_seed_and_profile():
    with pytest.raises(ValueError, match="SEED"):
        start_run("x", params={"PROFILE": "smoke"})


def test_resolve_dataset(tmp_path):
    assert resolve_dataset("", "intents_fr") is None
    (tmp_path / "intents_fr").mkdir()
    assert resolve_dataset(str(tmp_path), "intents_fr") == tmp_path / "intents_fr"
    with pytest.raises(DatasetNotFoundError, match="flipkart.*demo data"):
        resolve_dataset(str(tmp_path), "flipkart")
    with pytest.raises(DatasetNotFoundError, match="lacks"):
        resolve_dataset(str(tmp_path), "intents_fr", must_contain=("train.csv",))


def test_start_run_reads_every_declared_parameter_from_the_notebook(tmp_path, monkeypatch, isolated_outputs):
    """No notebook retypes its parameter list: start_run takes the names from the `parameters` cell."""
    import json

    from lib.core.run import declared_parameters

    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [],
                     "source": ["SEED = 1  # seed\n", "PROFILE = 'smoke'\n", "N_ROWS: int = 5\n", "GRID = [1, 2]\n"]},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["X = 3\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "98_probe.ipynb").write_text(json.dumps(nb))
    monkeypatch.chdir(tmp_path)
    assert declared_parameters("98_probe") == ["SEED", "PROFILE", "N_ROWS", "GRID"]
    namespace = {"SEED": 7, "PROFILE": "smoke", "N_ROWS": 9, "GRID": (3, 4), "X": 3, "start_run": start_run}
    run = eval("start_run('98_probe')", namespace)  # called from the notebook's namespace, as in a kernel
    assert run.params == {"SEED": 7, "PROFILE": "smoke", "N_ROWS": 9, "GRID": [3, 4]}
    del namespace["GRID"]
    with pytest.raises(NameError, match="GRID"):
        eval("start_run('98_probe')", namespace)
