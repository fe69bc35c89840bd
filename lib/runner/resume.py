"""Runs that resume: which notebooks must run again, and why (papermill cannot restart a notebook).

A notebook reruns under `--resume` when its last run failed or never happened, when one of its inputs
changed — the notebook file, the `lib/` code, its parameters (profile and overrides included), the data
directory — when a file it wrote under `models/` is gone, or when an earlier notebook of the same study
reran in this run (later notebooks read what earlier ones saved: 03 reads 01's metrics, 05 and 06 read
04's and 05's models). Otherwise its report and metrics are kept. `reports/run_state.json` keeps, per
notebook, the fingerprint of its last successful run and the files it wrote.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "run_state.json"


def _sha(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def lib_digest(root: Path) -> str:
    """A digest of every Python file under `lib/` (path and content)."""
    files = sorted((root / "lib").rglob("*.py"))
    return _sha([str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() for f in files])


def data_digest(data_dir: str) -> str:
    """A digest of the data directory's listing (relative path, size, modification time); "demo" without one."""
    if not data_dir:
        return "demo"
    base = Path(data_dir)
    rows = []
    for dirpath, _, names in os.walk(base):
        for name in sorted(names):
            p = Path(dirpath) / name
            st = p.stat()
            rows.append(f"{p.relative_to(base)}\t{st.st_size}\t{st.st_mtime_ns}".encode())
    return _sha(sorted(rows))


def input_digests(notebook: Path, params: dict[str, Any], lib: str, data: str) -> dict[str, str]:
    """The digests that decide whether a notebook's last result still stands."""
    return {"notebook": _sha([notebook.read_bytes()]),
            "lib": lib,
            "parameters": _sha([json.dumps(params, sort_keys=True, default=str).encode()]),
            "data": data}


def study_of(stem: str) -> str:
    """'02_emails_baselines' → 'emails' (the notebooks of one study read each other's outputs)."""
    parts = stem.split("_")
    return parts[1] if len(parts) > 1 else stem


def snapshot(folder: Path) -> dict[str, int]:
    """{relative path: modification time} of every file under `folder` (empty when it does not exist)."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def written(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Files new or modified between two snapshots."""
    return sorted(k for k, v in after.items() if before.get(k) != v)


def load_state(reports: Path) -> dict[str, Any]:
    path = reports / STATE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def save_state(reports: Path, state: dict[str, Any]) -> None:
    (reports / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True))


def decide(stem: str, digests: dict[str, str], state: dict[str, Any], models: Path, reports: Path,
           reran_studies: set[str]) -> str | None:
    """Why `stem` must run again (a short reason), or None when its last result still stands."""
    last = state.get(stem)
    if last is None:
        return "no earlier run"
    if last.get("status") != "ok":
        return "last run failed"
    if not (reports / "metrics" / f"{stem}.json").is_file():
        return "its metrics file is missing"
    changed = [k for k, v in digests.items() if last.get("digests", {}).get(k) != v]
    if changed:
        return "changed: " + ", ".join(changed)
    missing = [f for f in last.get("outputs", []) if not (models / f).exists()]
    if missing:
        return f"output missing: models/{missing[0]}" + (f" (+{len(missing) - 1})" if len(missing) > 1 else "")
    if study_of(stem) in reran_studies:
        return f"an earlier {study_of(stem)} notebook reran"
    return None
