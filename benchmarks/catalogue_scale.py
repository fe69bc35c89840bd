"""Catalogue scale: images/s and peak memory of notebook 05's image pipeline as the catalogue grows.

A synthetic catalogue of N photos is generated on disk (study 2's demo generator), then each stage runs in a
fresh subprocess of its own, so each stage's peak resident memory (VmHWM) is its own:

  * features:  `extract_features` (efficientnet-lite0, 224 px, letterbox, batch 32) streaming the paths;
  * logreg, lightgbm, mlp: 05's feature models (`make_feature_model`, one `FeatureMLP`) fitted on 80 % of
    those features, scored on the other 20 %;
  * finetune:  one epoch of `fine_tune` from paths at 128 px on a share of the catalogue (default 10 %);
  * decode_all (contrast, not part of the pipeline): every photo decoded into one list, as 05 did before it
    streamed (`pil = {name: load_images(paths)}`): the memory that grows with N.

One torch/OpenMP thread everywhere; run it niced on a shared machine:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/catalogue_scale.py [--sizes 2000 5000 20000] [--keep]

Writes benchmarks/results/catalogue_scale.json (machine, command, sizes, seconds, images/s and peak RSS per
stage and size, linear fits) and catalogue_scale.png. The generated catalogue lives under
models/bench/catalogue_scale/ and is removed afterwards unless --keep (a kept one is reused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from lib.core.paths import models_dir, project_root

RESULTS = project_root() / "benchmarks" / "results"
PIPELINE = ("features", "logreg", "lightgbm", "mlp", "finetune")
CONTRAST = ("decode_all",)
CHALLENGE_IMAGES = 84_916  # photos of the Rakuten France challenge's training set
RSS_GOAL_MB = 4096
RESULT_MARK = "CATALOGUE_SCALE_RESULT "


# --------------------------------------------------------------------------- measurements (child processes)

def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM) in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _manifest(workdir: Path, n: int) -> tuple[list[str], np.ndarray]:
    """The first n listings' photo paths (some missing or corrupt on purpose) and label codes."""
    import pandas as pd

    m = pd.read_csv(workdir / "manifest.csv", nrows=n)
    return m["path"].astype(str).tolist(), m["label"].astype(str).to_numpy()


def _features(workdir: Path, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, label indices, readable mask) saved by the features stage for size n."""
    with np.load(workdir / f"features_{n}.npz") as z:
        return z["features"], z["y"], z["ok"]


def _split(y: np.ndarray, seed: int, test_size: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)


def stage_features(workdir: Path, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    from lib.vision.features import extract_features

    paths, labels = _manifest(workdir, n)
    classes = sorted(set(labels))
    t0 = time.perf_counter()
    fs = extract_features(paths, "efficientnet-lite0", opts["feature_size"], batch_size=opts["batch_size"],
                          use_cache=False, progress=opts["progress"])
    sec = time.perf_counter() - t0
    y = np.array([classes.index(c) for c in labels])
    np.savez(workdir / f"features_{n}.npz", features=fs.features, y=y, ok=fs.ok)
    return {"seconds": sec, "images": n, "images_per_s": n / sec, **fs.counts,
            "what": f"extract_features efficientnet-lite0 {opts['feature_size']} px letterbox, batch "
                    f"{opts['batch_size']}, from paths (model load included)"}


def stage_model(name: str, workdir: Path, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    from lib.evaluation.metrics import classification_scores
    from lib.vision.classifiers import FeatureMLP, MLPConfig, make_feature_model

    X, y, ok = _features(workdir, n)
    X, y = X[ok], y[ok]
    tr, te = _split(y, opts["seed"])
    t0 = time.perf_counter()
    if name == "mlp":
        # one configuration of 05's grid, early-stopped on 20 % of the training part (never on the scored rows)
        fit, stop = (tr[k] for k in _split(y[tr], opts["seed"]))
        model = FeatureMLP(MLPConfig(epochs=opts["mlp_epochs"]), seed=opts["seed"])
        model.fit(X[fit], y[fit], X[stop], y[stop], n_classes=int(y.max()) + 1)
        what = f"FeatureMLP (hidden 256, relu, adam), ≤{opts['mlp_epochs']} epochs, early stopping"
    else:
        model = make_feature_model(name, opts["seed"], pca_dim=min(128, len(tr) - 1))
        model.fit(X[tr], y[tr])
        what = f"make_feature_model({name!r}) as in 05's benchmark"
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pred = model.predict(X[te])
    predict_s = time.perf_counter() - t1
    return {"seconds": fit_s + predict_s, "fit_s": fit_s, "predict_s": predict_s, "images": int(len(y)),
            "n_train": int(len(tr)), "n_test": int(len(te)), "images_per_s": len(y) / (fit_s + predict_s),
            "weighted_f1": classification_scores(y[te], pred)["weighted_f1"], "what": what}


def stage_finetune(workdir: Path, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    from lib.vision.finetune import FineTuneConfig, fine_tune

    paths, labels = _manifest(workdir, n)
    _, y, ok = _features(workdir, n)  # readable photos, as the features pass found them (no extra decoding)
    rows = np.flatnonzero(ok)
    k = max(20, int(round(n * opts["finetune_fraction"])))
    rows = rows[np.random.default_rng(opts["seed"]).permutation(len(rows))[:k]]
    n_val = max(10, len(rows) // 10)
    val, train = rows[:n_val], rows[n_val:]
    classes = sorted(set(labels))
    cfg = FineTuneConfig(input_size=opts["finetune_size"], epochs=1, batch_size=32, patience=1)
    t0 = time.perf_counter()
    _, hist = fine_tune([paths[i] for i in train], y[train], [paths[i] for i in val], y[val], classes, cfg,
                        seed=opts["seed"], progress=opts["progress"])
    sec = time.perf_counter() - t0
    epoch_s = float(hist["seconds"].iloc[0])
    return {"seconds": sec, "epoch_s": epoch_s, "images": int(len(rows)), "n_train": int(len(train)),
            "n_val": int(len(val)), "images_per_s": len(train) / epoch_s,
            "val_accuracy": float(hist["val_accuracy"].iloc[0]),
            "what": f"fine_tune one epoch from paths, {opts['finetune_size']} px, last 2 blocks + head, batch 32, "
                    f"on {opts['finetune_fraction']:.0%} of the catalogue (images/s: training images per second "
                    "of epoch time, validation pass included)"}


def stage_decode_all(workdir: Path, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    from lib.vision.images import iter_image_batches

    paths, _ = _manifest(workdir, n)
    readable = [p for p in paths if Path(p).is_file()]
    t0 = time.perf_counter()
    held = [im for _, batch in iter_image_batches(readable, 64, skip_unreadable=True) for im in batch]
    sec = time.perf_counter() - t0
    pixels = sum(im.size[0] * im.size[1] for im in held)
    return {"seconds": sec, "images": len(held), "images_per_s": len(held) / sec,
            "decoded_mb": pixels * 3 / 2**20,
            "what": "every photo decoded and kept in one list (05 before streaming): contrast, not the pipeline"}


def run_stage(stage: str, workdir: Path, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    """Child mode: one stage, one thread, then this process's peak RSS."""
    import torch

    torch.set_num_threads(1)
    if stage == "features":
        out = stage_features(workdir, n, opts)
    elif stage in ("logreg", "lightgbm", "mlp"):
        out = stage_model(stage, workdir, n, opts)
    elif stage == "finetune":
        out = stage_finetune(workdir, n, opts)
    elif stage == "decode_all":
        out = stage_decode_all(workdir, n, opts)
    elif stage == "baseline":  # the interpreter with the libraries the stages import, doing nothing
        import lightgbm  # noqa: F401
        import sklearn  # noqa: F401
        import timm  # noqa: F401

        out = {"seconds": 0.0, "images": 0, "images_per_s": None,
               "what": "python + torch, timm, sklearn, lightgbm imported, no work"}
    else:
        raise ValueError(f"unknown stage {stage!r}")
    # the load average tells how shared the CPU was while the stage ran (its speed depends on it)
    return {"stage": stage, "n_catalogue": n, **out, "peak_rss_mb": peak_rss_mb(),
            "torch_threads": torch.get_num_threads(), "load_average_1min": round(os.getloadavg()[0], 2)}


# --------------------------------------------------------------------------- orchestration (parent)

def generate(workdir: Path, n: int, image_size: int, seed: int) -> dict[str, Any]:
    """The demo catalogue of n listings under workdir and a manifest (path, label) in listing order."""
    import pandas as pd

    from lib.products.demo import generate_demo_catalogue
    from lib.products.data import RAKUTEN_IMAGES, RAKUTEN_X, RAKUTEN_Y

    t0 = time.perf_counter()
    folder = generate_demo_catalogue(workdir / "catalogue", n=n, seed=seed, image_size=image_size)
    sec = time.perf_counter() - t0
    x = pd.read_csv(folder / RAKUTEN_X, index_col=0)
    y = pd.read_csv(folder / RAKUTEN_Y, index_col=0)
    images = folder / RAKUTEN_IMAGES
    paths = [str(images / f"image_{i}_product_{p}.jpg") for i, p in zip(x["imageid"], x["productid"])]
    pd.DataFrame({"path": paths, "label": y["prdtypecode"].astype(str)}).to_csv(workdir / "manifest.csv", index=False)
    size_mb = sum(f.stat().st_size for f in images.iterdir()) / 2**20
    return {"seconds": round(sec, 1), "listings": n, "image_size_px": image_size, "jpeg_mb_on_disk": round(size_mb, 1),
            "generator": "lib.products demo generator (synthetic product photos, JPEG q90; ~2 % missing, 3 corrupt)"}


def child(stage: str, workdir: Path, n: int, opts: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--child", stage, "--workdir", str(workdir), "--n", str(n),
           "--opts", json.dumps(opts)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=project_root())
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"stage {stage} at N={n} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)][-1]
    row = json.loads(line[len(RESULT_MARK):])
    row["process_wall_s"] = wall  # with interpreter start-up and imports
    return row


def linear_fit(ns: list[int], values: list[float]) -> dict[str, float] | None:
    """value ≈ a + b·N by least squares, R², and the value extrapolated to the challenge's 84,916 photos."""
    if len(ns) < 2:
        return None
    x, v = np.asarray(ns, float), np.asarray(values, float)
    b, a = np.polyfit(x, v, 1)
    ss_res = float(((v - (a + b * x)) ** 2).sum())
    ss_tot = float(((v - v.mean()) ** 2).sum())
    return {"intercept": round(float(a), 3), "per_1000_images": round(float(b) * 1000, 3),
            "r2": round(1 - ss_res / ss_tot, 4) if ss_tot > 0 else 1.0,
            "at_84916_images": round(float(a + b * CHALLENGE_IMAGES), 1)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in PIPELINE + CONTRAST:
        sub = sorted((r for r in rows if r["stage"] == stage), key=lambda r: r["n_catalogue"])
        if not sub:
            continue
        ns = [r["n_catalogue"] for r in sub]
        per_image_ms = [1000 * r["seconds"] / max(r["images"], 1) for r in sub]
        out[stage] = {"n_catalogue": ns, "seconds": [round(r["seconds"], 1) for r in sub],
                      "images_per_s": [round(r["images_per_s"], 2) for r in sub],
                      "peak_rss_mb": [round(r["peak_rss_mb"]) for r in sub],
                      "ms_per_image": [round(v, 2) for v in per_image_ms],
                      "seconds_fit": linear_fit(ns, [r["seconds"] for r in sub]),
                      "peak_rss_fit_mb": linear_fit(ns, [r["peak_rss_mb"] for r in sub])}
    pipe = [r["peak_rss_mb"] for r in rows if r["stage"] in PIPELINE]
    out["max_pipeline_peak_rss_mb"] = round(max(pipe)) if pipe else None
    out["rss_goal_mb"] = RSS_GOAL_MB
    out["rss_goal_met"] = bool(pipe) and max(pipe) <= RSS_GOAL_MB
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = result["summary"]
    labels = {"features": "features (Lite0, 224 px)", "logreg": "logistic regression",
              "lightgbm": "LightGBM (PCA 128)", "mlp": "MLP", "finetune": "fine-tune, 1 epoch, 128 px "
              f"({result['options']['finetune_fraction']:.0%} of N)", "decode_all": "all photos in memory (05 before)"}
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.6))
    for stage, lab in labels.items():
        if stage not in summary:
            continue
        s = summary[stage]
        style = dict(ls="--", color="grey") if stage in CONTRAST else dict(ls="-")
        axes[0].plot(s["n_catalogue"], s["seconds"], marker="o", ms=4, label=lab, **style)
        axes[1].plot(s["n_catalogue"], s["peak_rss_mb"], marker="o", ms=4, label=lab, **style)
    axes[0].set(xlabel="catalogue size N (images)", ylabel="wall time (s, 1 thread)",
                title="Time vs catalogue size (linear = streaming)")
    axes[1].axhline(RSS_GOAL_MB, color="red", ls=":", lw=1.2, label="goal: 4 GB")
    axes[1].set(xlabel="catalogue size N (images)", ylabel="peak resident memory (MiB, per stage process)",
                title="Peak RSS vs catalogue size")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Notebook 05's image pipeline at catalogue scale — synthetic {result['catalogue']['image_size_px']} px "
                 f"photos, {result['machine']['cpu_model'] or 'CPU'}, 1 thread", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def machine() -> dict[str, Any]:
    from lib.core.environment import hardware

    cpu = None
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {**hardware(), "cpu_model": cpu, "niceness": os.nice(0), "load_average_start": round(os.getloadavg()[0], 2),
            "note": "shared 2-core machine (other jobs running): times are upper bounds for this CPU"}


def command_line() -> str:
    """How this run was started, as one would type it (niceness and thread settings included)."""
    nice = os.nice(0)
    threads = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS",) if k in os.environ)
    python = os.path.relpath(sys.executable, project_root()) if ".venv" in sys.executable else "python"
    parts = [threads, f"nice -n {nice}" if nice else "", python, *sys.argv]
    return " ".join(p for p in parts if p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 20000], help="catalogue sizes N")
    ap.add_argument("--stages", nargs="+", default=list(PIPELINE + CONTRAST), choices=PIPELINE + CONTRAST)
    ap.add_argument("--image-size", type=int, default=256, help="side of the generated photos (px)")
    ap.add_argument("--feature-size", type=int, default=224, help="feature extractor input (px)")
    ap.add_argument("--batch-size", type=int, default=32, help="feature extraction batch")
    ap.add_argument("--finetune-fraction", type=float, default=0.1, help="share of N fine-tuned on for one epoch")
    ap.add_argument("--finetune-size", type=int, default=128, help="fine-tuning input (px)")
    ap.add_argument("--mlp-epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", default=str(models_dir() / "bench" / "catalogue_scale"))
    ap.add_argument("--keep", action="store_true", help="keep the generated catalogue and features")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--out", default=str(RESULTS / "catalogue_scale.json"))
    # child mode (one stage in its own process)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--opts", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        row = run_stage(args.child, Path(args.workdir), args.n, json.loads(args.opts))
        print(RESULT_MARK + json.dumps(row, default=float), flush=True)
        return

    t_start = time.perf_counter()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(args.sizes))
    stages = [s for s in PIPELINE + CONTRAST if s in args.stages]
    if any(s in stages for s in ("logreg", "lightgbm", "mlp", "finetune")) and "features" not in stages:
        missing = [n for n in sizes if not (workdir / f"features_{n}.npz").is_file()]
        if missing:
            ap.error(f"the model stages need the features stage (no saved features for N={missing})")
    opts = {"feature_size": args.feature_size, "batch_size": args.batch_size, "seed": args.seed,
            "finetune_fraction": args.finetune_fraction, "finetune_size": args.finetune_size,
            "mlp_epochs": args.mlp_epochs, "progress": not args.no_progress}
    result: dict[str, Any] = {
        "benchmark": "catalogue_scale",
        "what": "05's image pipeline streamed from paths: seconds, images/s and peak RSS (VmHWM of a fresh "
                "process per stage and size) against the catalogue size; one torch/OpenMP thread",
        "command": command_line(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), "python": platform.python_version(), "sizes": sizes, "stages": stages,
        "options": opts, "rows": []}
    import torch

    result["torch"] = torch.__version__
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        result["summary"] = summarise(result["rows"])
        result["total_wall_s"] = round(time.perf_counter() - t_start, 1)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=float))

    try:
        print(f"generating a synthetic catalogue of {max(sizes)} photos in {workdir}", flush=True)
        result["catalogue"] = generate(workdir, max(sizes), args.image_size, args.seed)
        result["baseline"] = child("baseline", workdir, 0, opts)
        for n in sizes:
            for stage in stages:
                row = child(stage, workdir, n, opts)
                result["rows"].append(row)
                print(f"N={n:>6} {stage:<10} {row['seconds']:8.1f} s  {row['images_per_s'] or 0:8.1f} images/s  "
                      f"peak RSS {row['peak_rss_mb']:7.0f} MiB", flush=True)
                save()
        result["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
        save()
        plot(result, out.with_suffix(".png"))
        print(f"wrote {out} and {out.with_suffix('.png')} ({result['total_wall_s']:.0f} s)")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
