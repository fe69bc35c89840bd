"""Fit and predict time of the text model (TF-IDF word+char → LinearSVC, temperature-calibrated) by training size.

    .venv/bin/python benchmarks/text_model.py                              # demo catalogue (synthetic)
    .venv/bin/python benchmarks/text_model.py --data ../shared/data        # + Flipkart and rakuten_sample (real)

For each data set and training size (stratified subsamples of the train split, same seed) it fits the
calibrated pipeline `--repeats` times and times: TF-IDF + LinearSVC fit, temperature fit, predict_proba on
the test split (ms per listing). Writes benchmarks/results/text_model.json with the machine's details.
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

from lib.products.data import load_products, split_products, subsample
from lib.products.text_model import fit_calibrated_text_model, scores

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    """CPU count, torch threads, load average: the context of every timing."""
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        threads = None
    return {"cpu_count": os.cpu_count(), "torch_threads": threads, "platform": platform.platform(),
            "python": platform.python_version(), "processor": platform.processor(),
            "load_average_1m_at_start": os.getloadavg()[0],
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def bench_dataset(data_dir: str, dataset: str, sizes: list[int], repeats: int, seed: int) -> list[dict]:
    """Rows of (dataset, n_train, fit/predict timings, test scores)."""
    data = load_products(data_dir, dataset, seed)
    s = split_products(data.df, seed)
    va, te = s["val"], s["test"]
    rows = []
    n_full = len(s["train"])
    for n in [m for m in sizes if m < n_full] + [n_full]:  # always end with the whole train split
        tr = subsample(s["train"], n, seed)
        fit, pred_ms = [], []
        for r in range(repeats):
            t0 = time.perf_counter()
            model = fit_calibrated_text_model(tr["text"], tr["label"], va["text"], va["label"], seed=seed + r)
            fit.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            p = model.predict_proba(te["text"])
            pred_ms.append(1000 * (time.perf_counter() - t1) / len(te))
        sc = scores(te["label"], [model.classes[i] for i in p.argmax(1)])
        rows.append({"dataset": data.name, "source": data.source, "n_train": len(tr), "n_test": len(te),
                     "fit_s_median": float(np.median(fit)), "fit_s_min": float(np.min(fit)),
                     "pipeline_fit_s_median": None if not repeats else float(model.info["fit_s"]),
                     "predict_ms_per_listing_median": float(np.median(pred_ms)),
                     "test_weighted_f1": sc["weighted_f1"], "repeats": repeats})
        print(f"{data.name:15s} n_train={len(tr):5d}  fit {np.median(fit):6.2f} s  predict {np.median(pred_ms):.3f} ms/listing"
              f"  test wF1 {sc['weighted_f1']:.3f}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="", help="real data folder (e.g. ../shared/data); empty: demo only")
    ap.add_argument("--sizes", default="100,250,500", help="training sizes (comma-separated)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "text_model.json"))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    info = machine()
    rows = bench_dataset("", "flipkart", sizes, args.repeats, args.seed)
    if args.data:
        rows += bench_dataset(args.data, "flipkart", sizes, args.repeats, args.seed)
        rows += bench_dataset(args.data, "rakuten_sample", sizes, args.repeats, args.seed)
    out = {"benchmark": "text_model", "model": "TF-IDF word(1,2)+char_wb(3,5) → LinearSVC (balanced) + temperature",
           "machine": info, "note": "shared 2-core machine, other jobs running: timings are upper bounds",
           "load_average_1m_at_end": os.getloadavg()[0], "results": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
