"""Run bookkeeping for a notebook: seeding, timings, and the metrics file every notebook ends with.

Typical use in a notebook (right after the `parameters` cell)::

    run = start_run("02_emails_baselines")   # the parameters cell's values, read from the notebook
    with run.timer("cross_validation"):
        ...
    run.set_data(source="demo", name="demo inbox (synthetic)", n_train=1000, n_test=200)
    run.finish(headline={"macro_f1": 0.87})
"""
from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from lib.core.paths import metrics_dir, project_root
from lib.core.seed import seed_everything

KEY_PACKAGES = (
    "numpy", "pandas", "scikit-learn", "torch", "torchvision", "timm", "transformers", "peft",
    "pyspark", "spacy", "papermill", "lightgbm", "xgboost",
)
DATA_SOURCES = ("real", "demo")


def git_commit(root: Path | None = None) -> str | None:
    """The current git commit of the project (with `-dirty` when the tree has changes), or None."""
    root = root or project_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the given distributions (None when not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths and NaNs into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class RunContext:
    """What one notebook run records; `finish` writes it to `reports/metrics/<notebook>.json`."""

    notebook: str
    params: dict[str, Any]
    profile: str = "default"
    started: float = field(default_factory=time.time)
    timings_s: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time a block; the seconds land in `timings_s[name]` (accumulated if repeated)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings_s[name] = round(self.timings_s.get(name, 0.0) + time.perf_counter() - t0, 3)

    def set_data(self, source: str, name: str, n_train: int | None = None, n_test: int | None = None,
                 **more: Any) -> None:
        """Record which data the run used. `source` is "real" or "demo" (synthetic)."""
        if source not in DATA_SOURCES:
            raise ValueError(f"data source must be one of {DATA_SOURCES}, got {source!r}")
        self.data = {"source": source, "name": name, "n_train": n_train, "n_test": n_test, **more}

    def log(self, **values: Any) -> None:
        """Keep extra results (tables, per-class figures) in the metrics file under `extra`."""
        self.extra.update(values)

    def finish(self, headline: dict[str, Any], **extra: Any) -> Path:
        """Write the metrics file and return its path.

        Args:
            headline: the few flat figures that matter (shown in `reports/index.html`).
            extra: anything else worth keeping (merged into `extra`).
        """
        if not self.data:
            raise RuntimeError("call run.set_data(...) before run.finish(): the report must say which data it used")
        bad = {k: v for k, v in headline.items() if isinstance(v, (dict, list, tuple))}
        if bad:
            raise ValueError(f"headline must be flat (numbers or short strings); nested values: {sorted(bad)}")
        self.extra.update(extra)
        self.timings_s["total"] = round(time.time() - self.started, 3)
        record = {
            "notebook": self.notebook,
            "profile": self.profile,
            "data": self.data,
            "headline": headline,
            "params": self.params,
            "timings_s": self.timings_s,
            "git_commit": git_commit(),
            "versions": package_versions(),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "extra": self.extra,
        }
        path = metrics_dir() / f"{self.notebook}.json"
        path.write_text(json.dumps(_jsonable(record), indent=2, ensure_ascii=False))
        return path


def declared_parameters(notebook: str | Path) -> list[str]:
    """The names assigned in a notebook's cell tagged `parameters`, in order (read with `ast`, nothing run)."""
    import ast

    path = Path(notebook)
    if path.suffix != ".ipynb":
        # the kernel's folder first (papermill and JupyterLab run a notebook from its own folder, on EMR too)
        here = Path.cwd() / f"{notebook}.ipynb"
        path = here if here.is_file() else project_root() / "notebooks" / f"{notebook}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} not found: pass params= explicitly")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{path.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}")
    source = "".join(tagged[0]["source"]) if isinstance(tagged[0]["source"], list) else tagged[0]["source"]
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def start_run(notebook: str, params: dict[str, Any] | None = None) -> RunContext:
    """Seed everything from `SEED` and start the run's bookkeeping.

    Args:
        notebook: the notebook's stem, e.g. "02_emails_baselines" (names the metrics file).
        params: the values of the notebook's `parameters` cell. None (the usual call): every name that cell
            declares, read from the calling notebook's namespace — so papermill's injected values, or the
            defaults when run by hand in JupyterLab — and none can be forgotten. Must include SEED and PROFILE.
    """
    if params is None:
        import inspect

        caller = inspect.currentframe().f_back.f_globals  # type: ignore[union-attr]
        names = declared_parameters(notebook)
        absent = [n for n in names if n not in caller]
        if absent:
            raise NameError(f"{notebook}: run the parameters cell first ({absent[:5]} are not defined)")
        params = {n: caller[n] for n in names}
    missing = {"SEED", "PROFILE"} - set(params)
    if missing:
        raise ValueError(f"params must include {sorted(missing)}")
    seed_everything(int(params["SEED"]))
    return RunContext(notebook=notebook, params=_jsonable(dict(params)), profile=str(params["PROFILE"]))
