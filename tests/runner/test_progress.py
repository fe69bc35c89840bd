"""The kernel's progress bars in the runner's terminal: in place on a TTY, once (final state) in a log."""
from __future__ import annotations

import io
import re
from pathlib import Path

import nbformat
import pytest

from lib.runner.cli import run_notebook
from lib.runner.progress import ProgressEcho

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _bar(desc: str, i: int, n: int) -> str:
    return f"\r{desc}: {100 * i // n:3d}%|{'#' * (10 * i // n):10s}| {i}/{n}"


def _feed(echo: ProgressEcho, desc: str, n: int, leave: bool = True) -> None:
    for i in range(n + 1):
        echo.write(_bar(desc, i, n))  # one stream message per redraw, as the kernel sends them
    echo.write("\n" if leave else "\r" + " " * 40 + "\r")


def _screen(raw: str) -> list[str]:
    """What a terminal shows for `raw` (carriage returns, newlines, cursor up; no wrapping)."""
    rows, row, col = [""], 0, 0
    for tok in re.split(r"(\r|\n|\x1b\[\d*[A-Za-z])", raw):
        if tok == "\r":
            col = 0
        elif tok == "\n":
            row, col = row + 1, 0
            rows += [""] * (row + 1 - len(rows))
        elif tok.startswith("\x1b["):
            n = int(tok[2:-1] or 1)
            if tok[-1] == "A":
                row = max(0, row - n)
            elif tok[-1] == "K":
                rows[row] = rows[row][:col]
        elif tok:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + tok + line[col + len(tok):]
            col += len(tok)
    return [r.rstrip() for r in rows]


def test_log_mode_writes_each_finished_bar_once_in_its_final_state():
    out = io.StringIO()
    echo = ProgressEcho(out, tty=False)
    _feed(echo, "features", 50)
    echo.write("UserWarning: something to see\n")
    _feed(echo, "inner folds", 5, leave=False)  # tqdm leave=False clears itself: nothing to keep
    _feed(echo, "OCR", 3)
    echo.close()
    assert out.getvalue() == ("features: 100%|##########| 50/50\nUserWarning: something to see\n"
                              "OCR: 100%|##########| 3/3\n")


def test_log_mode_throttles_until_the_line_is_finished_and_close_keeps_an_open_bar():
    out = io.StringIO()
    echo = ProgressEcho(out, tty=False)
    for i in range(30):
        echo.write(_bar("loading", i, 100))
    assert out.getvalue() == ""  # nothing while the bar is live
    echo.close()  # the notebook ended (or failed) with the bar still open: its last state, once
    assert out.getvalue() == "loading:  29%|##        | 29/100\n"


def _nested(echo: ProgressEcho, outer: int = 3, inner: int = 4) -> None:
    """What the kernel sends for an outer tqdm bar over an inner `leave=False` one: one message per write."""
    for f in range(outer):
        echo.write(_bar("outer", f, outer))
        for i in range(inner):
            for part in ("\n", _bar("inner", i, inner), "\x1b[A"):
                echo.write(part)
        for part in ("\n", "\r" + " " * 30, "\x1b[A"):
            echo.write(part)
    echo.write(_bar("outer", outer, outer))
    echo.write("\n")


def test_log_mode_nested_bars_give_one_line_per_outer_step():
    out = io.StringIO()
    echo = ProgressEcho(out, tty=False)
    _nested(echo)
    echo.close()
    assert out.getvalue().splitlines() == [f"outer: {p:3d}%|{'#' * (p // 10):10s}| {i}/3"
                                           for i, p in enumerate((0, 33, 66, 100))]


def test_tty_mode_nested_bars_end_as_the_outer_bar_alone():
    out = io.StringIO()
    echo = ProgressEcho(out, tty=True)
    _nested(echo)
    echo.close()
    assert _screen(out.getvalue()) == ["outer: 100%|##########| 3/3", ""]


def test_tty_mode_redraws_in_place_and_fits_the_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    echo = ProgressEcho(out, tty=True)
    _feed(echo, "features", 20)
    _feed(echo, "a very long description that would wrap", 4)
    echo.close()
    raw = out.getvalue()
    assert raw.count("\n") == 2  # one line per finished bar, however many redraws
    long_bar = _bar("a very long description that would wrap", 4, 4)[1:]
    assert _screen(raw) == ["features: 100%|##########| 20/20", long_bar[:39], ""]  # cut to COLUMNS - 1


def test_tty_mode_hides_the_runners_own_bar_while_a_kernel_bar_is_live(monkeypatch):
    from tqdm.std import tqdm

    monkeypatch.setenv("COLUMNS", "60")
    out = io.StringIO()
    cells = tqdm(total=3, desc="Executing", file=out, bar_format="{desc}: {n}/{total} cells", mininterval=0)
    echo = ProgressEcho(out, tty=True)
    cells.update(1)
    _feed(echo, "features", 5)
    cells.update(1)
    echo.close()
    cells.close()
    assert _screen(out.getvalue()) == ["features: 100%|##########| 5/5", "Executing: 2/3 cells", ""]


PARAMS = 'SEED = 42  # seed\nPROFILE = "default"  # profile\nDATA_DIR = ""  # data'
BAR_CELL = """import time
from tqdm.auto import tqdm
for _ in tqdm(range(40), desc="demo bar", mininterval=0):
    time.sleep(0.01)"""
FINISH_CELL = """from lib.core import start_run
run = start_run("01_bar", params=dict(SEED=SEED, PROFILE=PROFILE, DATA_DIR=DATA_DIR))
run.set_data(source="demo", name="nothing (synthetic)", n_train=1, n_test=1)
run.finish(headline={"answer": 42})"""


@pytest.mark.slow
def test_a_notebooks_bar_reaches_the_terminal_once(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CASEBOOK_REPORTS_DIR", str(tmp_path / "reports"))
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BAR_CELL), nbformat.v4.new_code_cell(FINISH_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "01_bar.ipynb"
    nbformat.write(nb, str(path))
    (tmp_path / "reports" / "metrics").mkdir(parents=True)
    log = io.StringIO()  # not a terminal: final states only
    res = run_notebook(path, {"SEED": 1}, tmp_path / "reports", log)
    assert res.status == "ok", res.error
    lines = [ANSI.sub("", line).split("\r")[-1] for line in log.getvalue().splitlines()]
    bars = [line for line in lines if "demo bar" in line]
    assert len(bars) == 1 and "100%" in bars[0] and "40/40" in bars[0]
    executed = nbformat.read(str(tmp_path / "reports" / "executed" / "01_bar.ipynb"), as_version=4)
    redraws = sum("demo bar" in o.get("text", "") for o in executed.cells[2].outputs)
    assert redraws > 10  # the kernel sent every redraw; the terminal got one line
