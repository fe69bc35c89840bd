"""What readers see: each progress bar once, warnings folded, code hidden in the report, parameters on top."""
from __future__ import annotations

import nbformat

from lib.runner.render import apply_carriage_returns, collapse_streams, fold_warnings, render_views


def _nb_with_bars():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("for i in tqdm(range(3)): pass\nprint('done')")
    bar = [f"\rembed:  {p}%|{'█' * (p // 10):10s}| {p // 33}/3 [00:0{p // 33}<00:00]" for p in (0, 33, 66, 100)]
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=t) for t in bar]
    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="\n"))
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="done\n"))
    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something odd\n"))
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    return nb


def test_carriage_returns_keep_the_final_state():
    assert apply_carriage_returns("\rbar 0%\rbar 50%\rbar 100%\nnext") == "bar 100%\nnext"
    assert apply_carriage_returns("plain\ntext") == "plain\ntext"


def test_each_progress_bar_appears_once_in_its_final_state():
    nb = collapse_streams(_nb_with_bars())
    outs = nb.cells[1].outputs
    assert [o.name for o in outs] == ["stderr", "stdout", "stderr"]
    assert outs[0].text.count("embed:") == 1 and "100%" in outs[0].text and "33%" not in outs[0].text
    folded = fold_warnings(nb)
    kinds = [o.output_type for o in folded.cells[1].outputs]
    assert kinds == ["stream", "stream", "display_data"]  # the bar stays, the warning is folded
    assert "<details" in folded.cells[1].outputs[2]["data"]["text/html"]


def test_report_hides_code_and_shows_parameters_notebook_view_keeps_it(tmp_path):
    executed = tmp_path / "01_x.ipynb"
    nbformat.write(_nb_with_bars(), str(executed))
    report, view = tmp_path / "01_x.html", tmp_path / "notebooks" / "01_x.html"
    render_views(executed, report, view, {"SEED": 42, "PROFILE": "smoke"})
    r, v = report.read_text(), view.read_text()
    assert "tqdm" not in r and "tqdm" in v  # code hidden in the report only
    assert "Parameters of this run" in r and "PROFILE" in r and "smoke" in r
    assert r.count("embed:") == 1 and "notebooks/01_x.html" in r
