"""The dashboard (`reports/index.html`): the reference file, verdicts, sections, thumbnails, links, budgets."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from lib.runner.cli import NotebookResult, UsageError, load_profile, manifest_entries
from lib.runner.index import THUMB_SIZE, verdict, write_index
from lib.runner.reference import DIRECTIONS, load_reference, validate_reference
from tests.conftest import ROOT

NOTEBOOKS = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


# --- the reference file -------------------------------------------------------------------------------------------

def test_reference_file_loads_and_every_row_names_an_existing_notebook():
    ref = load_reference(ROOT / "configs" / "reference.yaml")
    assert [s["id"] for s in ref["studies"]] == ["1", "2", "3", "4", "0"]
    covered = set()
    for study in ref["studies"]:
        assert study["title"] and study["metrics"]
        assert set(study["notebooks"]) <= NOTEBOOKS, study["notebooks"]
        covered |= set(study["notebooks"])
        for row in study["metrics"]:
            where = f"{row['notebook']}/{row['metric']}"
            assert row["notebook"] in NOTEBOOKS and row["notebook"] in study["notebooks"], where
            assert row["direction"] in {">=", "<="} and set(DIRECTIONS) == {">=", "<="}, where
            assert row["label"] and row["metric"], where
            if row.get("original_claim") is not None:  # a claim always says where the repository states it
                assert row.get("claim_source"), where
            if row.get("goal") is not None or row.get("goal_key"):
                assert row.get("goal_source"), where
    assert covered == NOTEBOOKS, f"notebooks in no study: {NOTEBOOKS - covered}"


def test_reference_budgets_cover_every_notebook_and_fit_the_run_targets():
    budgets = load_reference(ROOT / "configs" / "reference.yaml")["budgets"]
    for profile in ("smoke", "default"):
        assert set(budgets[profile]) == NOTEBOOKS, profile
    assert sum(budgets["default"].values()) <= 3600  # the default run under an hour
    assert sum(budgets["smoke"].values()) <= 450  # `./run_all.sh test` under 15 min: the notebooks about 300 s


def test_study_3_rows_carry_the_claims_and_goals_of_notebook_07():
    rows = {r["metric"]: r for s in load_reference()["studies"] for r in s["metrics"]
            if r["notebook"] == "07_assistant_lora"}
    assert (rows["resolution_rate"]["original_claim"], rows["resolution_rate"]["goal"]) == (0.82, 0.90)
    assert (rows["hallucination_rate_guarded"]["original_claim"], rows["hallucination_rate_guarded"]["goal"]) == (0.08, 0.02)
    assert rows["hallucination_rate_raw"]["goal"] == 0.05 and rows["hallucination_rate_raw"]["original_claim"] is None
    assert rows["guardrail_intervention_rate"]["goal"] == 0.05 and rows["latency_p50_s"]["goal"] == 3
    assert all(rows[k]["direction"] == "<=" for k in ("hallucination_rate_guarded", "latency_p50_s"))


@pytest.mark.parametrize("row, message", [
    ({"notebook": "01_x", "metric": "m", "label": "l", "direction": ">"}, "direction"),
    ({"notebook": "01_x", "metric": "m", "label": "l", "direction": ">=", "goal": "high"}, "goal"),
    ({"notebook": "01_x", "metric": "m", "label": "l", "direction": ">=", "goal": 1, "goal_key": "k"}, "not both"),
    ({"notebook": "01_x", "label": "l", "direction": ">="}, "metric"),
])
def test_a_faulty_reference_row_is_named(row, message):
    with pytest.raises(ValueError, match=message):
        validate_reference({"studies": [{"id": "9", "title": "t", "notebooks": ["01_x"], "metrics": [row]}]})


def test_the_reference_file_is_not_a_profile():
    with pytest.raises(UsageError, match="Known profiles: default, full, smoke"):
        load_profile(ROOT / "configs", "reference")


# --- verdict ------------------------------------------------------------------------------------------------------

def test_verdict_met_not_met_and_missing():
    assert verdict(0.91, 0.90, ">=") == "met"
    assert verdict(0.90, 0.90, ">=") == "met"  # a tie counts as met
    assert verdict(0.89, 0.90, ">=") == "not met"
    assert verdict(0.01, 0.02, "<=") == "met"
    assert verdict(2, 3, "<=") == "met" and verdict(3.5, 3, "<=") == "not met"
    for missing in (None, "n/a", float("nan"), True):
        assert verdict(missing, 0.9, ">=") == "no data"
    assert verdict(0.5, None, ">=") == "no goal"
    with pytest.raises(ValueError):
        verdict(0.5, 0.4, ">")


# --- write_index --------------------------------------------------------------------------------------------------

REFERENCE = {
    "studies": [
        {"id": "1", "title": "Alpha triage", "notebooks": ["01_alpha", "02_beta"], "metrics": [
            {"notebook": "01_alpha", "metric": "f1", "label": "alpha F1", "original_claim": 0.8,
             "claim_source": "the original report, section 4", "goal": 0.85, "direction": ">=",
             "goal_source": "issue #1"},
            {"notebook": "01_alpha", "metric": "errors", "label": "alpha errors", "goal": 2, "direction": "<=",
             "goal_source": "this casebook"},
            {"notebook": "02_beta", "metric": "f1", "label": "beta F1", "goal": 0.5, "direction": ">=",
             "goal_source": "this casebook"},
            {"notebook": "01_alpha", "metric": "f1_new", "label": "alpha F1 (new key)", "goal": 0.1,
             "direction": ">=", "goal_source": "issue #2"},
        ]},
        {"id": "2", "title": "Gamma at scale", "notebooks": ["03_gamma"], "metrics": [
            {"notebook": "03_gamma", "metric": "speed", "label": "gamma speed", "goal": None, "direction": ">="}]},
    ],
    "budgets": {"smoke": {"01_alpha": 10, "02_beta": 60, "03_gamma": 30}},
}


def _png(width: int = 900, height: int = 400) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _executed(path: Path, with_image: bool) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    if with_image:
        cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"}))
        cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": _png(50, 50)}))
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def _metrics(reports: Path, name: str, headline: dict, source: str = "real", profile: str = "smoke") -> None:
    (reports / "metrics").mkdir(parents=True, exist_ok=True)
    data = {"source": source, "name": "intents_fr" if source == "real" else "demo inbox (synthetic)",
            "n_train": 330, "n_test": 913, "n_val": None, "labels": 22}
    (reports / "metrics" / f"{name}.json").write_text(json.dumps(
        {"notebook": name, "profile": profile, "data": data, "headline": headline,
         "finished_at": "2026-12-01T10:00:00+00:00"}))


@pytest.fixture()
def reports(tmp_path: Path) -> Path:
    """01 ran (over budget, with a figure), 02 failed (no metrics, no figure), 03 ran earlier, 04 is not referenced."""
    reports = tmp_path / "reports"
    (reports / "notebooks").mkdir(parents=True)
    for name in ("01_alpha", "02_beta"):
        (reports / f"{name}.html").write_text("<html>report</html>")
        (reports / "notebooks" / f"{name}.html").write_text("<html>notebook</html>")
    _metrics(reports, "01_alpha", {"f1": 0.9, "errors": 3, "note": "text"})
    _executed(reports / "executed" / "01_alpha.ipynb", with_image=True)
    _executed(reports / "executed" / "02_beta.ipynb", with_image=False)
    _metrics(reports, "03_gamma", {"speed": 12.5}, source="demo")
    _metrics(reports, "04_delta", {"answer": 42}, source="demo")
    (reports / "run_state.json").write_text(json.dumps(
        {"03_gamma": {"status": "ok", "duration_s": 20.0, "profile": "smoke", "finished_at": "2026-11-30T09:00:00"}}))
    return reports


def _manifest() -> dict:
    return {"profile": "smoke", "data": {"source": "real", "dir": "/data"}, "git_commit": "abc123",
            "finished_at": "2026-12-01T10:05:00+00:00", "total_s": 22.5, "notebooks": [
                {"number": "01", "name": "01_alpha", "status": "ok", "duration_s": 12.5, "html": "01_alpha.html",
                 "metrics": "metrics/01_alpha.json", "error": None, "reason": "requested"},
                {"number": "02", "name": "02_beta", "status": "failed", "duration_s": 10.0, "html": "02_beta.html",
                 "metrics": None, "error": "PapermillExecutionError: ValueError boom", "reason": "requested"}]}


def _index(reports: Path) -> str:
    return write_index(reports, _manifest(), REFERENCE).read_text()


def test_index_has_one_section_per_study_with_verdict_badges(reports):
    page = _index(reports)
    assert 'id="study-1"' in page and "Study 1 — Alpha triage" in page
    assert 'id="study-2"' in page and "Study 2 — Gamma at scale" in page
    assert 'id="others"' in page and "04_delta" in page and "answer" in page  # not in the reference: still listed
    study1 = page[page.index('id="study-1"'):page.index('id="study-2"')]
    rows = {r.split("</td>")[0]: r for r in study1.split("<tr><td>")[1:]}
    assert 'b-met">met' in rows["alpha F1<br><code>f1</code>"]  # 0.9 >= 0.85
    assert 'b-notmet">not met' in rows["alpha errors<br><code>errors</code>"]  # 3 > 2
    assert 'b-nodata">no data' in rows["beta F1<br><code>f1</code>"]  # 02 failed: no metrics file
    assert 'b-nodata">no data' in rows["alpha F1 (new key)<br><code>f1_new</code>"]  # key not written yet
    assert "0.8" in rows["alpha F1<br><code>f1</code>"] and "the original report, section 4" in rows["alpha F1<br><code>f1</code>"]
    assert "≥ 0.85" in rows["alpha F1<br><code>f1</code>"] and "issue #1" in rows["alpha F1<br><code>f1</code>"]
    assert "1 met · 1 not met · 2 no data" in study1
    assert "no goal" in page[page.index('id="study-2"'):]


def test_index_shows_data_thumbnail_and_both_views(reports):
    page = _index(reports)
    thumb = reports / "thumbs" / "01_alpha.png"
    assert thumb.is_file()
    with Image.open(thumb) as im:  # the first (large) figure, shrunk
        assert im.size[0] <= THUMB_SIZE[0] and im.size[1] <= THUMB_SIZE[1] and im.size[0] > 100
    assert 'src="thumbs/01_alpha.png"' in page
    assert 'href="01_alpha.html"' in page and 'href="notebooks/01_alpha.html"' in page
    assert 'href="02_beta.html"' in page and 'href="notebooks/02_beta.html"' in page  # a failed notebook's views too
    assert not (reports / "thumbs" / "02_beta.png").exists() and "no figure" in page  # no image output: skipped
    assert not (reports / "thumbs" / "03_gamma.png").exists()  # no executed copy at all
    card = page[page.index('id="nb-01_alpha"'):page.index('id="nb-02_beta"')]
    assert '<span class="real">real</span> intents_fr' in card and "train 330" in card and "test 913" in card
    assert "demo (synthetic)" in page[page.index('id="nb-03_gamma"'):]
    assert "ValueError boom" in page  # the failed notebook's error


def test_index_flags_a_notebook_over_its_budget(reports):
    page = _index(reports)
    card = lambda name: page[page.index(f'id="nb-{name}"'):].split('<div class="card')[0]  # noqa: E731
    assert "over budget" in card("01_alpha") and "of 10 s (smoke)" in card("01_alpha")  # 12.5 s > 10 s
    assert "over budget" not in card("02_beta") and "of 60 s" in card("02_beta")
    earlier = card("03_gamma")  # not in this manifest: its last run's duration, from run_state.json
    assert "earlier run" in earlier and "20 s" in earlier and "of 30 s" in earlier and "over budget" not in earlier
    assert "1 over budget" in page


def test_index_renders_with_the_real_reference_before_anything_ran(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    page = write_index(reports, {"profile": "default", "data": {}, "notebooks": []}).read_text()
    for study in load_reference()["studies"]:
        assert study["title"] in page
    assert "not run" in page and 'b-met">met</span></td>' not in page and 'b-nodata">no data</span></td>' in page
    assert "of 30.0 min" in page or "budget 30.0 min" in page  # 07's default budget, shown before it runs


def test_manifest_records_each_notebook_against_its_budget():
    results = [NotebookResult("01", "01_alpha", "ok", 12.5, "01_alpha.html", "metrics/01_alpha.json"),
               NotebookResult("02", "02_beta", "ok", 5.0, None, None),
               NotebookResult("09", "09_other", "ok", 5.0, None, None)]
    entries = manifest_entries(results, REFERENCE["budgets"]["smoke"])
    assert [(e["budget_s"], e["over_budget"]) for e in entries] == [(10, True), (60, False), (None, None)]
    assert entries[0]["duration_s"] == 12.5 and entries[0]["status"] == "ok"
