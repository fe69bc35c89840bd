"""Feature-extraction throughput (images/s) of the offline image backbone on this machine,
by batch size, input size and torch threads. Writes benchmarks/results/image_features.json.

    .venv/bin/python benchmarks/image_features.py [--backbone efficientnet-lite0] [--images 96]

Images: real Flipkart photos when ../shared/data is present, else the generated demo catalogue's.
The timing covers preprocessing (resize, crop, normalise) and the forward pass, not JPEG decoding
(images are decoded once, before timing). The machine may be shared: load average is recorded.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from lib.core.environment import hardware
from lib.core.paths import project_root, real_data_dir
from lib.core.registry import load_image_backbone
from lib.vision.features import features_of_images
from lib.vision.images import load_images


def sample_images(n: int) -> tuple[list, str]:
    """n decoded photos and where they came from."""
    real = real_data_dir()
    if real is not None and (real / "flipkart" / "images").is_dir():
        paths = sorted(str(p) for p in (real / "flipkart" / "images").glob("*.jpg"))[:n]
        return load_images(paths), "flipkart (real photos, ≤256 px)"
    from lib.products.demo import generate_demo_catalogue

    folder = generate_demo_catalogue(n=max(n + 20, 200))
    paths = sorted(str(p) for p in (folder / "images" / "image_train").glob("*.jpg"))
    from lib.vision.images import audit_images

    ok = [p for p, s in zip(paths, audit_images(paths).status) if s == "ok"][:n]
    return load_images(ok), "demo catalogue (synthetic, 128 px)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="efficientnet-lite0")
    ap.add_argument("--images", type=int, default=96, help="images per measurement")
    ap.add_argument("--batch-sizes", default="8,16,32,64")
    ap.add_argument("--input-sizes", default="128,160,224")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=str(project_root() / "benchmarks" / "results" / "image_features.json"))
    args = ap.parse_args()
    images, source = sample_images(args.images)
    default_threads = torch.get_num_threads()
    machine = hardware()
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for size in [int(s) for s in args.input_sizes.split(",")]:
            bb = load_image_backbone(args.backbone, num_classes=0, input_size=size)
            bb.model = bb.model.to(memory_format=torch.channels_last)
            features_of_images(images[:8], bb, batch_size=8)  # warm-up
            for bs in [int(b) for b in args.batch_sizes.split(",")]:
                t0 = time.perf_counter()
                features_of_images(images, bb, batch_size=bs)
                sec = time.perf_counter() - t0
                row = {"threads": threads, "input_size": size, "batch_size": bs, "images": len(images),
                       "seconds": round(sec, 3), "images_per_s": round(len(images) / sec, 2),
                       "load_average_1min": round(os.getloadavg()[0], 2)}
                rows.append(row)
                print(row, flush=True)
    result = {"benchmark": "image_features", "backbone": args.backbone, "images_source": source,
              "what": "preprocessing + forward pass of pooled features, CPU, inference mode, channels_last",
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {**machine, "torch_threads_default": default_threads,
                          "load_average_start": rows[0]["load_average_1min"] if rows else None,
                          "note": "shared machine: other jobs were running; figures are lower bounds"},
              "torch": torch.__version__, "results": rows,
              "best": max(rows, key=lambda r: r["images_per_s"]) if rows else None}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
