"""Showing the kernel's progress bars in the runner's terminal while a notebook runs.

papermill hands each stderr stream output of the kernel to `stderr_file.write` as it arrives (its
`PapermillNotebookClient.log_output_message`). `ProgressEcho` is that file: it replays the text on a small
virtual screen (carriage returns, newlines, tqdm's cursor-up for nested bars), so a bar redrawn 170 times
is one line, not 170.

- On a terminal, the kernel's bars are redrawn in place (cut to the terminal's width, so a long bar does
  not wrap into a flood), and papermill's cell-level bar is hidden while they are live and redrawn below
  them once they are done.
- Elsewhere (CI logs, a file), a line is written once it is finished, in its final state: one line per
  bar (an outer bar over nested ones: one line per outer step). A bar that clears itself (tqdm's
  `leave=False`) leaves nothing, as in a terminal.

Only stderr is echoed (bars, warnings); what the code prints goes to the report.
"""
from __future__ import annotations

import re
import shutil
from typing import Any, TextIO

_TOKEN = re.compile(r"(\r|\n|\x1b\[[0-9;?]*[A-Za-z])")
MAX_ROWS = 20  # lines kept on the virtual screen (tqdm's nested bars move up a few lines at most)


class ProgressEcho:
    """A write-only file for papermill's `stderr_file`: echoes the kernel's stderr readably onto `stream`."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        if tty is None:
            isatty = getattr(stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self._hidden: list[Any] = []  # the runner's own tqdm bars, cleared while a kernel bar is live
        self._clear()

    def _clear(self) -> None:
        self.rows, self.sent = [""], [""]  # the screen's lines; what the log already has of each (log mode)
        self.row = self.col = 0
        self._dirty: int | None = None  # first line changed since the last redraw (tty mode)
        self._drawn = 0  # terminal lines the screen occupies (tty mode); the cursor is on the last one

    # --- the virtual screen -------------------------------------------------------------------------------
    def _touch(self, i: int) -> None:
        self._dirty = i if self._dirty is None else min(self._dirty, i)

    def _feed(self, text: str) -> None:
        for tok in _TOKEN.split(text):
            if not tok:
                continue
            if tok == "\r":
                self.col = 0
            elif tok == "\n":
                self.row, self.col = self.row + 1, 0
                if self.row == len(self.rows):
                    self.rows.append("")
                    self.sent.append("")
                    self._touch(self.row)
            elif tok.startswith("\x1b["):
                n = int(tok[2:-1]) if tok[2:-1].isdigit() else 1
                if tok[-1] == "A":  # tqdm's nested bars: "\n", the inner bar, then back up to the outer one
                    self.row = max(0, self.row - n)
                elif tok[-1] == "B":
                    self.row = min(len(self.rows) - 1, self.row + n)
                elif tok[-1] == "K":
                    self.rows[self.row] = self.rows[self.row][:self.col]
                    self._touch(self.row)
                # colours and other sequences are dropped
            else:
                line = self.rows[self.row].ljust(self.col)
                self.rows[self.row] = line[:self.col] + tok + line[self.col + len(tok):]
                self.col += len(tok)
                self._touch(self.row)

    def _settled(self) -> bool:
        """Nothing live: the cursor is on the last line and that line is empty (after a finished or cleared bar).

        Only a guess: a nested bar starts with a lone "\n" too. So a line the log got may change again; it is
        then written again (an outer bar: one line per outer step).
        """
        return self.row == len(self.rows) - 1 and not self.rows[-1].strip()

    def _trim(self) -> None:
        extra = len(self.rows) - MAX_ROWS
        if extra > 0:
            if not self.tty:
                self._send(range(extra))
            del self.rows[:extra], self.sent[:extra]
            self.row = max(0, self.row - extra)
            self._drawn = max(0, self._drawn - extra)  # those lines stay above, as drawn

    # --- the runner's own bars (papermill's "Executing" bar) ------------------------------------------------
    def _other_bars(self) -> list[Any]:
        import sys

        from tqdm.std import tqdm

        def mine(fp: Any) -> bool:
            return fp == self.stream or all(f in (sys.stdout, sys.stderr) for f in (fp, self.stream))

        return [b for b in list(getattr(tqdm, "_instances", [])) if hasattr(b, "start_t") and mine(b.fp)]

    def _hide_bars(self) -> None:
        if not self._hidden:
            self._hidden = self._other_bars()
            for bar in self._hidden:
                bar.clear()

    def _show_bars(self) -> None:
        hidden, self._hidden = self._hidden, []
        for bar in hidden:
            if not bar.disable:
                bar.refresh()

    # --- output -----------------------------------------------------------------------------------------------
    def _send(self, indices: range) -> None:
        """Log mode: write the lines that changed since the log last got them, once each."""
        lines = []
        for i in indices:
            if self.rows[i].strip() and self.rows[i] != self.sent[i]:
                lines.append(self.rows[i].rstrip())
                self.sent[i] = self.rows[i]
        if lines:
            self._hide_bars()
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
            self._show_bars()

    def _redraw(self) -> None:
        """Terminal mode: rewrite the changed lines in place, each cut to the terminal's width (no wrapping)."""
        if self._dirty is None:
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        first = min(self._dirty, max(self._drawn - 1, 0))
        up = self._drawn - 1 - first if self._drawn else 0
        out = (f"\x1b[{up}A" if up > 0 else "") + "\r"
        out += "\n".join(r.rstrip()[:width] + "\x1b[K" for r in self.rows[first:])
        self._drawn, self._dirty = len(self.rows), None
        self.stream.write(out)
        self.stream.flush()

    def write(self, text: str) -> int:
        if self.tty:
            self._hide_bars()
            self._feed(text)
            self._redraw()
            if self._settled():  # the runner's bar goes back on the empty last line, below the kernel's
                self._show_bars()
        else:
            self._feed(text)
            if self._settled():
                self._send(range(len(self.rows) - 1))
        self._trim()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        """At the end of a notebook: what is still live (a bar never closed) stays in its last state."""
        if self.tty:
            if self.rows[-1].strip():
                self.stream.write("\n")
        else:
            self._send(range(len(self.rows)))
        self._show_bars()
        self.stream.flush()
        self._clear()
