"""`configs/reference.yaml`: per study, the headline metrics the dashboard compares (this run, the original study's
claim, this casebook's goal), and per profile the time budget of each notebook."""
from __future__ import annotations

from numbers import Real
from pathlib import Path
from typing import Any

import yaml

from lib.core.paths import project_root

DIRECTIONS = (">=", "<=")
REFERENCE_NAME = "reference"  # configs/reference.yaml sits beside the profiles but is not one


def reference_path() -> Path:
    return project_root() / "configs" / f"{REFERENCE_NAME}.yaml"


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, Real) and not isinstance(value, bool))


def validate_reference(ref: dict[str, Any], where: str = "reference") -> dict[str, Any]:
    """Check the shape of a reference mapping; raise ValueError naming the faulty entry."""
    if not isinstance(ref, dict) or not isinstance(ref.get("studies", []), list):
        raise ValueError(f"{where}: expected a mapping with a `studies` list")
    for i, study in enumerate(ref.get("studies") or []):
        if not isinstance(study, dict) or not study.get("title"):
            raise ValueError(f"{where}: study #{i + 1} needs a title")
        for row in study.get("metrics") or []:
            name = f"{where}: study {study.get('id', i)} row {row.get('notebook')}/{row.get('metric')}"
            for key in ("notebook", "metric", "label"):
                if not isinstance(row.get(key), str) or not row[key]:
                    raise ValueError(f"{name}: `{key}` must be a non-empty string")
            if row.get("direction") not in DIRECTIONS:
                raise ValueError(f"{name}: direction must be one of {DIRECTIONS}, got {row.get('direction')!r}")
            for key in ("goal", "original_claim"):
                if not _number(row.get(key)):
                    raise ValueError(f"{name}: `{key}` must be a number or null, got {row.get(key)!r}")
            if row.get("goal") is not None and row.get("goal_key"):
                raise ValueError(f"{name}: give `goal` or `goal_key`, not both")
    for profile, budgets in (ref.get("budgets") or {}).items():
        if not isinstance(budgets, dict) or not all(_number(v) and v is not None and v > 0 for v in budgets.values()):
            raise ValueError(f"{where}: budgets.{profile} must map notebook names to positive seconds")
    return ref


def load_reference(path: Path | None = None) -> dict[str, Any]:
    """Read and check `configs/reference.yaml` (an empty reference when the file is absent)."""
    path = path or reference_path()
    if not path.is_file():
        return {"studies": [], "budgets": {}}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from err
    return validate_reference(data, where=str(path))


def budgets_for(ref: dict[str, Any], profile: str | None) -> dict[str, float]:
    """Seconds allowed per notebook on `profile` ({} when the reference sets none for it)."""
    return dict((ref.get("budgets") or {}).get(profile or "", {}) or {})
