"""Resolve a notebook's `DATA_DIR` + dataset name to a real data folder, or to the demo data."""
from __future__ import annotations

from pathlib import Path


class DatasetNotFoundError(FileNotFoundError):
    """A named real data set is not where the run was told to find it."""


def resolve_dataset(data_dir: str | Path | None, name: str, must_contain: tuple[str, ...] = ()) -> Path | None:
    """Return `DATA_DIR/name` when real data was asked for, None for the generated demo data.

    Args:
        data_dir: the notebook's `DATA_DIR` parameter; empty means "use the demo data".
        name: the data set's folder under `data_dir` (e.g. "intents_fr", "flipkart").
        must_contain: files or folders that must exist inside it.

    Raises:
        DatasetNotFoundError: `data_dir` was given but the data set (or a required file) is missing.
            Never falls back to demo data silently.
    """
    if data_dir in (None, ""):
        return None
    root = Path(data_dir).expanduser()
    folder = root / name
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"real data set {name!r} not found: {folder} does not exist. Put the data there, point "
            f"--data/DATA_DIR at a folder that holds '{name}/', or run without --data to use the "
            "generated (synthetic) demo data, which works offline."
        )
    missing = [m for m in must_contain if not (folder / m).exists()]
    if missing:
        raise DatasetNotFoundError(f"data set {name!r} at {folder} lacks {missing}")
    return folder
