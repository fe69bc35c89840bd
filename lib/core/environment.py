"""Facts about the machine and the environment, for `00_environment` and the run manifest."""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import pandas as pd

# Real data sets the studies know, with the files that identify each.
KNOWN_DATASETS: dict[str, tuple[str, ...]] = {
    "intents_fr": ("training_dataset.csv", "test_dataset.csv"),
    "flipkart": ("products.csv", "images"),
    "rakuten_sample": ("X_train_update.csv", "Y_train_CVw08PX.csv"),
    "fruits360": ("Training", "Test"),
}


def hardware() -> dict[str, Any]:
    """CPU count, memory, GPU (via torch when installed)."""
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpu_count": os.cpu_count(), "machine": platform.machine()}
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages * page_size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        info["memory_gib"] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda_available"] = torch.cuda.is_available()
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        info["cuda_available"] = False
        info["gpus"] = []
    return info


def find_datasets(data_dir: str | Path | None) -> pd.DataFrame:
    """Which known real data sets are present under `data_dir` (one row per data set)."""
    rows = []
    root = Path(data_dir) if data_dir else None
    for name, needed in KNOWN_DATASETS.items():
        folder = root / name if root else None
        present = bool(folder and folder.is_dir() and all((folder / n).exists() for n in needed))
        n_files = sum(1 for p in folder.rglob("*") if p.is_file()) if present and folder else 0
        rows.append({"dataset": name, "present": present, "path": str(folder) if folder else "(no --data given)",
                     "files": n_files})
    return pd.DataFrame(rows)
