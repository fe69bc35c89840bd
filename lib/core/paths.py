"""Where things live: project root, reports, models and data folders (overridable by environment)."""
from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    """The repository root (the folder holding `lib/`, `notebooks/`, `configs/`)."""
    return Path(os.environ.get("CASEBOOK_ROOT", _ROOT)).resolve()


def _dir(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default)).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    """`reports/` (or `$CASEBOOK_REPORTS_DIR`): HTML reports, metrics JSON, figures."""
    return _dir("CASEBOOK_REPORTS_DIR", project_root() / "reports")


def metrics_dir() -> Path:
    """`reports/metrics/`: one JSON file per notebook."""
    return _dir("CASEBOOK_METRICS_DIR", reports_dir() / "metrics")


def models_dir() -> Path:
    """`models/` (or `$CASEBOOK_MODELS_DIR`): trained models, caches; ignored by git."""
    return _dir("CASEBOOK_MODELS_DIR", project_root() / "models")


def data_dir() -> Path:
    """`data/` (or `$CASEBOOK_DATA_DIR`): generated demo data and downloaded raw data; ignored by git."""
    return _dir("CASEBOOK_DATA_DIR", project_root() / "data")


def real_data_dir() -> Path | None:
    """The shared real data (`$CASEBOOK_REAL_DATA` or `../shared/data`), or None when absent."""
    env = os.environ.get("CASEBOOK_REAL_DATA")
    candidate = Path(env) if env else project_root().parent / "shared" / "data"
    return candidate.resolve() if candidate.is_dir() else None
