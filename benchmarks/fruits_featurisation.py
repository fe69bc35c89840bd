"""Featurisation throughput of notebook 08's pipeline on this machine.

Measures (same images, same model and preprocessing, images/s excluding one-off start-up):
  * Spark pandas UDF by batch size and by number of partitions (local[*]);
  * plain single-process torch (all cores) by batch size — the baseline;
  * input size 100 px (Fruits-360's own) vs 224 px (the backbone's native), single-process;
  * time vs number of images (500 … 8k by repeating a subset), bounded by --budget-s: on a loaded 2-core
    machine the larger sizes are skipped and listed as such in the JSON.

    .venv/bin/python benchmarks/fruits_featurisation.py [--data ../shared/data] [--budget-s 600]

Writes benchmarks/results/fruits_featurisation.json and .png.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lib.core.paths import data_dir, project_root, real_data_dir

RESULTS = project_root() / "benchmarks" / "results"


def load_bytes(data: str | None, n: int, seed: int) -> tuple[list[bytes], str]:
    """n JPEG files' bytes from fruits360/Training (real) or the generated demo set, chosen with a seed."""
    if data:
        root = Path(data) / "fruits360" / "Training"
        source = f"real: {root}"
    else:
        from lib.fruits.demo import generate_demo_fruits

        root = generate_demo_fruits(data_dir() / "demo" / "fruits_bench", n_classes=8, n_train=80, n_test=1,
                                    seed=seed) / "Training"
        source = "demo (SYNTHETIC)"
    files = sorted(root.rglob("*.jpg"))
    if not files:
        raise SystemExit(f"no .jpg under {root}")
    pick = np.random.default_rng(seed).choice(len(files), size=min(n, len(files)), replace=False)
    return [files[i].read_bytes() for i in sorted(pick)], source


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="folder holding fruits360/ (default: ../shared/data if present, else demo)")
    p.add_argument("--demo", action="store_true", help="use the synthetic demo images even if real data is present")
    p.add_argument("--input-size", type=int, default=100)
    p.add_argument("--base", type=int, default=300, help="distinct images in the subset that is repeated")
    p.add_argument("--sweep-n", type=int, default=300, help="images per batch-size / partitions measurement")
    p.add_argument("--batch-sizes", default="16,64")
    p.add_argument("--partitions", default="1,2,4")
    p.add_argument("--scales", default="500,1000,2000,4000,8000")
    p.add_argument("--budget-s", type=float, default=600, help="skip scaling points that would exceed this")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t_start = time.perf_counter()
    data = None if args.demo else (args.data or (str(real_data_dir()) if real_data_dir() else None))
    base, source = load_bytes(data, args.base, args.seed)
    print(f"{len(base)} distinct images from {source}")

    import torch
    from tqdm.auto import tqdm

    from lib.spark.featurize import add_features, featurize_bytes, load_backbone_payload, make_featurizer
    from lib.spark.session import SparkSettings, get_spark, spark_info

    payload = load_backbone_payload("efficientnet-lite0", args.input_size)
    repeat = lambda n: (base * (n // len(base) + 1))[:n]  # noqa: E731
    batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    partitions = [int(x) for x in args.partitions.split(",")]
    cores = os.cpu_count() or 1
    out: dict = {"benchmark": "fruits_featurisation", "data": source, "model": "efficientnet-lite0",
                 "input_size": args.input_size, "distinct_images": len(base),
                 "machine": {"cpu_count": cores, "torch_threads": torch.get_num_threads(),
                             "platform": platform.platform(), "python": platform.python_version(),
                             "torch": torch.__version__, "load_avg_at_start": os.getloadavg(),
                             "note": "shared machine: other jobs were running, figures are lower bounds"},
                 "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    # --- plain single-process torch (all cores) ---
    sweep = repeat(args.sweep_n)
    featurize_bytes(base[:32], payload=payload, batch_size=32, threads=cores)  # warm-up
    torch_rows = []
    for bs in tqdm(batch_sizes, desc="torch batch sizes"):
        t0 = time.perf_counter()
        featurize_bytes(sweep, payload=payload, batch_size=bs, threads=cores)
        dt = time.perf_counter() - t0
        torch_rows.append({"batch_size": bs, "n": len(sweep), "seconds": round(dt, 2), "images_per_s": round(len(sweep) / dt, 1)})
    out["torch_by_batch_size"] = torch_rows
    sizes = []
    for size in (100, 224):
        pl = payload if size == args.input_size else load_backbone_payload("efficientnet-lite0", size)
        n = max(32, args.sweep_n // 2) if size == 224 else args.sweep_n
        t0 = time.perf_counter()
        featurize_bytes(repeat(n), payload=pl, batch_size=32, threads=cores)
        dt = time.perf_counter() - t0
        sizes.append({"input_size": size, "n": n, "seconds": round(dt, 2), "images_per_s": round(n / dt, 1)})
    out["torch_by_input_size"] = sizes
    print(json.dumps(torch_rows), json.dumps(sizes))

    # --- Spark pandas UDF ---
    spark = get_spark(SparkSettings(master="local[*]", app_name="bench-fruits", shuffle_partitions=cores * 2,
                                    arrow_batch_size=256))
    out["spark"] = spark_info(spark)

    def spark_run(images: list[bytes], bs: int, parts: int) -> dict:
        df = spark.createDataFrame([(f"img{i}", c) for i, c in enumerate(images)], "path string, content binary")
        df = df.repartition(parts).cache()
        df.count()  # the input is in memory before the clock starts: only featurisation is timed
        fz = make_featurizer(spark, payload=payload, batch_size=bs)
        t0 = time.perf_counter()
        n = add_features(df, fz).where("features is not null").count()
        dt = time.perf_counter() - t0
        fz.destroy()
        df.unpersist()
        return {"batch_size": bs, "partitions": parts, "n": n, "seconds": round(dt, 2), "images_per_s": round(n / dt, 1)}

    t0 = time.perf_counter()
    warm = spark_run(base[:64], 32, cores)  # Python workers import torch and build the model once
    out["spark_warmup_s"] = round(time.perf_counter() - t0, 2)
    out["spark_by_batch_size"] = [spark_run(sweep, bs, cores * 2) for bs in tqdm(batch_sizes, desc="spark batch sizes")]
    out["spark_by_partitions"] = [spark_run(sweep, 32, k) for k in tqdm(partitions, desc="spark partitions")]
    best = max(out["spark_by_partitions"], key=lambda r: r["images_per_s"])
    scaling, skipped = [], []
    for n in tqdm([int(x) for x in args.scales.split(",")], desc="scaling"):
        rate = scaling[-1]["images_per_s"] if scaling else best["images_per_s"]
        if time.perf_counter() - t_start + n / rate > args.budget_s:
            skipped.append(n)
            continue
        scaling.append(spark_run(repeat(n), 32, best["partitions"]))
    out["spark_scaling"] = scaling
    out["scaling_skipped_for_budget"] = skipped
    out["total_s"] = round(time.perf_counter() - t_start, 1)
    del warm
    spark.stop()

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fruits_featurisation.json").write_text(json.dumps(out, indent=2))
    plot(out, RESULTS / "fruits_featurisation.png")
    print(json.dumps({k: out[k] for k in ("spark_by_batch_size", "spark_by_partitions", "spark_scaling")}, indent=1))
    return 0


def plot(out: dict, path: Path) -> None:
    """Four panels: batch size, partitions, scaling, input size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    tb, sb = out["torch_by_batch_size"], out["spark_by_batch_size"]
    ax[0, 0].plot([r["batch_size"] for r in sb], [r["images_per_s"] for r in sb], "o-", label="Spark pandas UDF")
    ax[0, 0].plot([r["batch_size"] for r in tb], [r["images_per_s"] for r in tb], "s--", label="single-process torch")
    ax[0, 0].set(xscale="log", xlabel="batch size (images per forward pass)", ylabel="throughput (images/s)",
                 title="Throughput by batch size")
    ax[0, 0].legend()
    sp = out["spark_by_partitions"]
    ax[0, 1].bar([str(r["partitions"]) for r in sp], [r["images_per_s"] for r in sp], color="#4c78a8")
    ax[0, 1].set(xlabel="partitions", ylabel="throughput (images/s)", title="Spark throughput by partitions (batch 32)")
    sc = out["spark_scaling"]
    if sc:
        ax[1, 0].plot([r["n"] for r in sc], [r["seconds"] for r in sc], "o-")
    ax[1, 0].set(xlabel="number of images", ylabel="featurisation time (s)", title="Spark: time vs number of images")
    si = out["torch_by_input_size"]
    ax[1, 1].bar([f"{r['input_size']} px" for r in si], [r["images_per_s"] for r in si], color="#f58518")
    ax[1, 1].set(xlabel="model input size", ylabel="throughput (images/s)", title="Single-process torch by input size")
    m = out["machine"]
    fig.suptitle(f"EfficientNet-Lite0 featurisation, {out['input_size']} px, {m['cpu_count']} CPUs (shared, loaded), "
                 f"{out['data'].split(':')[0]} images")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
