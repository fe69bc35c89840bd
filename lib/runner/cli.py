"""`python -m lib.runner`: what `./run_all.sh` calls after setting up the environment.

    python -m lib.runner [--profile smoke|default|full] [--data DIR] [--keep-going] [-p NAME=VALUE] [NN ...]

Exit codes: 0 all notebooks succeeded, 1 a notebook failed, 2 bad arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from lib.core.paths import project_root
from lib.core.run import git_commit, package_versions
from lib.runner.index import write_index
from lib.runner.reference import REFERENCE_NAME, budgets_for, load_reference

INJECTED = ("PROFILE", "DATA_DIR")


class UsageError(Exception):
    """Bad command-line arguments or configuration (exit code 2)."""


@dataclass
class NotebookResult:
    number: str
    name: str
    status: str  # "ok", "failed", "skipped" (after a failure), "kept" (--resume: inputs unchanged)
    duration_s: float
    html: str | None
    metrics: str | None
    error: str | None = None
    reason: str | None = None  # why it ran, or why it was kept


def discover_notebooks(folder: Path) -> dict[str, Path]:
    """Map "NN" → notebook path for `NN_name.ipynb` files in `folder`, in run order."""
    found = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        found[path.name[:2]] = path
    return found


def load_profile(configs: Path, profile: str) -> dict[str, Any]:
    """Read `configs/<profile>.yaml` (a `common` section plus one section per notebook stem)."""
    path = configs / f"{profile}.yaml"
    if not path.is_file() or profile == REFERENCE_NAME:  # reference.yaml: goals and budgets, not a profile
        known = sorted(p.stem for p in configs.glob("*.yaml") if p.stem != REFERENCE_NAME)
        raise UsageError(f"unknown profile {profile!r}: no {path}. Known profiles: {', '.join(known)}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path} must be a mapping of sections")
    return data


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The names (and defaults) of a notebook's `parameters` cell, via papermill."""
    import papermill as pm

    return {k: v.get("default") for k, v in pm.inspect_notebook(str(path)).items()}


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`NAME=VALUE` strings from `-p` into a dict (values parsed as YAML: 3 → int, true → bool)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"-p expects NAME=VALUE, got {item!r}")
        if name in INJECTED:
            raise UsageError(f"-p {name}: use --profile/--data for {', '.join(INJECTED)}")
        out[name] = yaml.safe_load(value) if value else ""
    return out


def parameters_for(path: Path, config: dict[str, Any], profile: str, data_dir: str,
                   overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge `common` + the notebook's section + `-p` overrides, inject PROFILE and DATA_DIR, reject unknown names."""
    section = config.get(path.stem) or {}
    params = {**(config.get("common") or {}), **section, **(overrides or {}), "PROFILE": profile,
              "DATA_DIR": data_dir}
    declared = notebook_parameters(path)
    if not declared:
        raise UsageError(f"{path.name} has no cell tagged 'parameters'")
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise UsageError(f"configs/{profile}.yaml or -p sets parameters that {path.name} does not declare: "
                         f"{', '.join(unknown)} (declared: {', '.join(sorted(declared))})")
    return params


def to_html(executed: Path, html: Path, params: dict[str, Any] | None = None) -> None:
    """Render an executed notebook (successful or not): the report at `html`, the full view in `notebooks/`."""
    from lib.runner.render import render_views

    render_views(executed, html, html.parent / "notebooks" / html.name, params)


def run_notebook(path: Path, params: dict[str, Any], reports: Path, log: Any) -> NotebookResult:
    """Execute one notebook with papermill; always leaves the executed copy and its HTML.

    Besides papermill's cell-level bar, the progress bars the notebook's code draws (the kernel's stderr) are
    echoed onto `log` as they arrive: redrawn in place on a terminal, only their final state elsewhere.
    """
    import papermill as pm

    from lib.runner.progress import ProgressEcho

    executed_dir = reports / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    executed = executed_dir / path.name
    html = reports / f"{path.stem}.html"
    metrics = reports / "metrics" / f"{path.stem}.json"
    if metrics.exists():
        metrics.unlink()  # a stale file must not pass for this run's result
    t0 = time.perf_counter()
    error = None
    echo = ProgressEcho(log)
    try:
        try:
            pm.execute_notebook(str(path), str(executed), parameters=params, cwd=str(path.parent),
                                kernel_name="python3", progress_bar=True, log_output=False,
                                stderr_file=echo, request_save_on_cell_execute=True)
        finally:
            echo.close()
        status = "ok"
        if not metrics.exists():
            status, error = "failed", f"{path.stem} finished without writing {metrics.relative_to(reports)}"
    except Exception as err:  # papermill raises PapermillExecutionError with the cell's traceback
        status = "failed"
        error = f"{type(err).__name__}: {getattr(err, 'ename', '')} {getattr(err, 'evalue', err)}".strip()
    duration = time.perf_counter() - t0
    html_path = None
    if executed.exists():
        try:
            to_html(executed, html, params)
            html_path = html.name
        except Exception as err:  # the run's status still stands; say why there is no HTML
            print(f"    could not render {html.name}: {err}", file=log)
    return NotebookResult(path.name[:2], path.stem, status, round(duration, 1), html_path,
                          str(metrics.relative_to(reports)) if metrics.exists() else None, error)


def manifest_entries(results: list[NotebookResult], budgets: dict[str, float]) -> list[dict[str, Any]]:
    """The manifest's record of each notebook, with its budget on this profile (`configs/reference.yaml`; None when
    it sets none) and whether its duration went over it."""
    return [{**asdict(r), "budget_s": budgets.get(r.name),
             "over_budget": None if r.name not in budgets else r.duration_s > budgets[r.name]} for r in results]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_all.sh", description="Run the casebook's notebooks into HTML reports.")
    p.add_argument("--profile", default="default", help="configs/<profile>.yaml: smoke, default or full")
    p.add_argument("--data", default=None, help="folder of real data (e.g. ../shared/data); default: demo data")
    p.add_argument("--keep-going", action="store_true", help="run the remaining notebooks after a failure")
    p.add_argument("--resume", action="store_true",
                   help="rerun only notebooks whose last run failed or whose inputs (notebook, lib/, parameters, "
                        "data) changed, or whose outputs are missing; keep the others' reports")
    p.add_argument("--from", dest="from_nb", default=None, metavar="NN",
                   help="run notebook NN and every later one")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter in the selected notebooks, e.g. -p DATASET=rakuten_sample")
    p.add_argument("--notebooks-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--reports-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("notebooks", nargs="*", metavar="NN", help="notebook numbers to run (default: all)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments already
        return int(exc.code or 0)
    root = project_root()
    nb_dir = Path(args.notebooks_dir).resolve() if args.notebooks_dir else root / "notebooks"
    reports = Path(args.reports_dir).resolve() if args.reports_dir else Path(
        os.environ.get("CASEBOOK_REPORTS_DIR", root / "reports")).resolve()
    try:
        config = load_profile(root / "configs", args.profile)
        try:
            reference = load_reference(root / "configs" / f"{REFERENCE_NAME}.yaml")
        except ValueError as err:
            raise UsageError(str(err)) from err
        budgets = budgets_for(reference, args.profile)  # seconds per notebook on this profile
        data_dir = ""
        if args.data is not None:
            data = Path(args.data).expanduser()
            if not data.is_dir():
                raise UsageError(f"--data {args.data}: no such directory")
            data_dir = str(data.resolve())
        available = discover_notebooks(nb_dir)
        wanted = [n.zfill(2) for n in args.notebooks] or list(available)
        if args.from_nb is not None:
            start = args.from_nb.zfill(2)
            if start not in available:
                raise UsageError(f"--from {args.from_nb}: unknown notebook number; available: {', '.join(available)}")
            wanted = [n for n in wanted if n >= start]
        unknown = [n for n in wanted if n not in available]
        if unknown:
            raise UsageError(f"unknown notebook number(s) {', '.join(unknown)}; available: "
                             + ", ".join(f"{k} ({v.stem})" for k, v in available.items()))
        overrides = parse_overrides(args.param)
        plan = [(available[n], parameters_for(available[n], config, args.profile, data_dir, overrides))
                for n in wanted]
    except UsageError as err:
        print(f"run_all.sh: error: {err}", file=sys.stderr)
        return 2

    reports.mkdir(parents=True, exist_ok=True)
    (reports / "metrics").mkdir(exist_ok=True)
    os.environ["CASEBOOK_REPORTS_DIR"] = str(reports)  # the kernels inherit it
    source = f"real ({data_dir})" if data_dir else "demo (generated, synthetic)"
    print(f"ML Casebook: profile={args.profile}, data={source}, {len(plan)} notebook(s), reports in {reports}")
    from lib.core.paths import models_dir
    from lib.runner import resume as rs

    results: list[NotebookResult] = []
    started = datetime.now(timezone.utc)
    failed = False
    state = rs.load_state(reports)
    lib_d, data_d, models = rs.lib_digest(root), rs.data_digest(data_dir), models_dir()
    reran: set[str] = set()
    for i, (path, params) in enumerate(plan, 1):
        if failed and not args.keep_going:
            results.append(NotebookResult(path.name[:2], path.stem, "skipped", 0.0, None, None,
                                          reason="an earlier notebook failed"))
            continue
        digests = rs.input_digests(path, params, lib_d, data_d)
        reason = rs.decide(path.stem, digests, state, models, reports, reran) if args.resume else "requested"
        if reason is None:
            last = state[path.stem]
            why = f"unchanged since {last.get('finished_at', '?')}"
            results.append(NotebookResult(path.name[:2], path.stem, "kept", float(last.get("duration_s", 0.0)),
                                          f"{path.stem}.html" if (reports / f"{path.stem}.html").exists() else None,
                                          f"metrics/{path.stem}.json", reason=why))
            print(f"[{i}/{len(plan)}] KEPT   {path.stem}  ({why})", flush=True)
            continue
        print(f"[{i}/{len(plan)}] {path.stem} ... ({reason})", flush=True)
        before = rs.snapshot(models)
        res = run_notebook(path, params, reports, sys.stderr)
        res.reason = reason
        results.append(res)
        reran.add(rs.study_of(path.stem))
        state[path.stem] = {"status": res.status, "digests": digests, "duration_s": res.duration_s,
                            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "outputs": rs.written(before, rs.snapshot(models)), "profile": args.profile}
        rs.save_state(reports, state)
        mark = "OK    " if res.status == "ok" else "FAILED"
        budget = budgets.get(path.stem)
        print(f"[{i}/{len(plan)}] {mark} {path.stem}  {res.duration_s:7.1f} s"
              + (f" (OVER its {budget:g} s budget)" if budget is not None and res.duration_s > budget else "")
              + (f"  -> {res.html}" if res.html else ""), flush=True)
        if res.status != "ok":
            failed = True
            print(f"    {res.error}\n    see {reports / (res.html or 'executed')}", flush=True)

    manifest = {
        "git_commit": git_commit(root),
        "profile": args.profile,
        "data": {"source": "real" if data_dir else "demo", "dir": data_dir or None},
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": package_versions(),
        "total_s": round(sum(r.duration_s for r in results if r.status != "kept"), 1),
        # the budgets (configs/reference.yaml) of the notebooks that ran; None when the profile sets none
        "budget_total_s": sum(budgets[r.name] for r in results if r.name in budgets and r.status != "kept") or None,
        "notebooks": manifest_entries(results, budgets),
    }
    (reports / "run_manifest.json").write_text(json.dumps(manifest, indent=2))
    index = write_index(reports, manifest, reference)
    n_ok = sum(r.status == "ok" for r in results)
    n_kept = sum(r.status == "kept" for r in results)
    print(f"{n_ok}/{len(results) - n_kept} notebook(s) OK in {manifest['total_s']} s"
          + (f", {n_kept} kept (unchanged)" if n_kept else "") + f"; index: {index}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
