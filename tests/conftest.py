"""Shared fixtures: the real data folder (skip clearly when absent) and isolated output folders."""
from __future__ import annotations

from pathlib import Path

import pytest

from lib.core.paths import project_root, real_data_dir

ROOT = project_root()


@pytest.fixture(scope="session")
def real_data() -> Path:
    """`../shared/data` (or $CASEBOOK_REAL_DATA); tests using it are skipped when it is absent."""
    path = real_data_dir()
    if path is None:
        pytest.skip("real data not found: ../shared/data is absent and CASEBOOK_REAL_DATA is unset")
    return path


@pytest.fixture()
def isolated_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send reports/metrics/models of the code under test into a temporary folder."""
    monkeypatch.setenv("CASEBOOK_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("CASEBOOK_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("CASEBOOK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path
