"""Turning an executed notebook into what people read: the report (no code) and the full notebook view.

- Progress bars: papermill keeps every tqdm update as an output of its own (a bar redrawn 170 times is 170
  lines in the HTML). Consecutive stream outputs are merged and carriage returns applied as a terminal
  would, so each bar appears once, in its final state.
- Warnings (stderr that is not a progress bar) stay visible, folded in a `<details>` block in the report.
- The report (`reports/NN_name.html`) hides the code and opens with the parameters the run used; the
  notebook view (`reports/notebooks/NN_name.html`) shows everything. A failed cell's error shows in both.
"""
from __future__ import annotations

import copy
import html as html_lib
import re
from pathlib import Path
from typing import Any

_BAR = re.compile(r"\d+%\|.*\|")  # a tqdm bar: "42%|████      | 5/12 [...]"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def apply_carriage_returns(text: str) -> str:
    """What a terminal shows: on each line, only the text after its last carriage return."""
    out = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p.strip()]
        out.append(parts[-1] if parts else "")
    return "\n".join(out)


def collapse_streams(nb: Any) -> Any:
    """Merge consecutive stream outputs of the same name and keep each progress bar's final state."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or not cell.get("outputs"):
            continue
        merged: list[Any] = []
        for out in cell.outputs:
            if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                    and merged[-1].get("name") == out.get("name")):
                merged[-1]["text"] = merged[-1]["text"] + out["text"]
            else:
                merged.append(copy.deepcopy(out))
        kept = []
        for out in merged:
            if out.get("output_type") == "stream":
                text = apply_carriage_returns(_ANSI.sub("", out["text"]))
                # a bar whose last redraw ended without a newline: drop the empty lines between bars
                lines = [line for line in text.split("\n") if line.strip()]
                if not lines:
                    continue
                out["text"] = "\n".join(lines) + "\n"
            kept.append(out)
        cell.outputs = kept
    return nb


def _is_progress_only(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(_BAR.search(line) for line in lines)


def fold_warnings(nb: Any) -> Any:
    """In the report: stderr that is not only progress bars goes into a collapsed block (still readable)."""
    import nbformat

    for cell in nb.cells:
        for i, out in enumerate(cell.get("outputs", [])):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and not _is_progress_only(out["text"]):
                n = len([line for line in out["text"].splitlines() if line.strip()])
                body = html_lib.escape(out["text"])
                cell.outputs[i] = nbformat.from_dict({"output_type": "display_data", "metadata": {}, "data": {
                    "text/html": f'<details class="casebook-warn"><summary>messages and warnings ({n} line'
                                 f'{"s" if n != 1 else ""})</summary><pre>{body}</pre></details>',
                    "text/plain": out["text"]}})
    return nb


def parameters_table(params: dict[str, Any]) -> str:
    """A small HTML table of the parameters the run used (the report's first block)."""
    rows = "".join(f"<tr><td><code>{html_lib.escape(str(k))}</code></td><td><code>{html_lib.escape(repr(v))}</code>"
                   f"</td></tr>" for k, v in params.items())
    return ('<details open class="casebook-params"><summary><b>Parameters of this run</b></summary>'
            f'<table>{rows}</table></details>')


def render_views(executed: Path, report: Path, notebook_view: Path, params: dict[str, Any] | None = None) -> None:
    """Write the report (markdown, outputs, plots; no code) and the full notebook view of an executed notebook."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = collapse_streams(nbformat.read(str(executed), as_version=4))
    notebook_view.parent.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    notebook_view.write_text(body, encoding="utf-8")

    reader = fold_warnings(copy.deepcopy(nb))
    # papermill's injected-parameters cell is replaced by the parameters table
    reader.cells = [c for c in reader.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    first_code = next((i for i, c in enumerate(reader.cells) if c.cell_type == "code"), len(reader.cells))
    reader.cells.insert(first_code, nbformat.v4.new_markdown_cell(parameters_table(params or {})))
    link = f'<p class="casebook-view">Code and every output: <a href="notebooks/{report.name}">notebook view</a></p>'
    reader.cells.insert(1 if reader.cells and reader.cells[0].cell_type == "markdown" else 0,
                        nbformat.v4.new_markdown_cell(link))
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(reader)
    report.write_text(body, encoding="utf-8")
