"""Load test of the triage API on loopback: concurrent clients, bounded in number and time.

    .venv/bin/python benchmarks/api_load.py --model-dir models/emails/triage --clients 4 --duration 30

Starts `python -m lib.serving` on 127.0.0.1 (a free port), waits until /health says the model is
loaded, warms up, then lets N client threads POST raw demo e-mails (with their PII: the server
anonymises them) to /predict until the duration or the request cap is reached. Writes requests/s,
latency percentiles (p50/p95/p99), error counts and machine information to
benchmarks/results/api_load.json, then stops the server it started.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only: this benchmark never exposes the service


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_until_loaded(base: str, proc: subprocess.Popen, timeout_s: float) -> dict:
    """Poll /health until the model is loaded (or fail with the server's status)."""
    deadline, last = time.time() + timeout_s, None
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before it was ready")
        try:
            last = httpx.get(f"{base}/health", timeout=2).json()
            if last.get("model_loaded"):
                return last
            if last.get("detail"):  # up, but no model: no point waiting
                raise RuntimeError(f"server up but model not loaded: {last['detail']}")
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"server not ready after {timeout_s} s (last /health: {last})")


def client_loop(base: str, texts: list[str], stop_at: float, budget: list[int], lock: threading.Lock,
                out: list[tuple[float, int]], offset: int) -> None:
    """POST texts until time is up or the shared request budget is spent; record (latency s, status)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        i = offset
        while time.perf_counter() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            body = {"text": texts[i % len(texts)]}
            t0 = time.perf_counter()
            try:
                status = client.post("/predict", json=body).status_code
            except httpx.HTTPError:
                status = -1  # connection error / timeout
            out.append((time.perf_counter() - t0, status))
            i += 1


def stage_timings(model_dir: str, texts: list[str], pii_detector: str | None = None) -> dict[str, dict[str, float]]:
    """Per-stage milliseconds (clean, NER, language, model, reasons) of the pipeline, one text at a time.

    Measured in this process, before the server starts, so the stages do not compete with the load.
    """
    from lib.emails.pipeline import TriagePipeline
    from lib.serving.app import loader_with_detector

    load = loader_with_detector(TriagePipeline.load, pii_detector) if pii_detector else TriagePipeline.load
    pipe = load(Path(model_dir)).warm_up()
    rows: list[dict[str, float]] = []
    for text in texts:
        t: dict[str, float] = {}
        t0 = time.perf_counter()
        pipe.triage(text, timings=t)
        t["total"] = time.perf_counter() - t0
        rows.append(t)
    keys = sorted({k for r in rows for k in r})
    return {k: {"mean": round(1000 * float(np.mean([r[k] for r in rows])), 2),
                "p95": round(1000 * float(np.percentile([r[k] for r in rows], 95)), 2)} for k in keys}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", default=str(ROOT / "models" / "emails" / "triage"))
    p.add_argument("--clients", type=int, default=4, help="concurrent client threads (1–32)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of measured load (≤ 300)")
    p.add_argument("--max-requests", type=int, default=5000, help="cap on measured requests")
    p.add_argument("--warmup", type=int, default=10, help="requests sent (and not measured) before the run")
    p.add_argument("--n-texts", type=int, default=200, help="distinct demo e-mails to cycle through")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server (1–8)")
    p.add_argument("--stage-texts", type=int, default=100,
                   help="texts triaged in-process, one at a time, for the per-stage timings (0: skip)")
    p.add_argument("--pii-detector", default=None,
                   help="person-name detector the server anonymises with (default: the one saved with the model)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "api_load.json"))
    args = p.parse_args(argv)
    if not 1 <= args.clients <= 32 or not 0 < args.duration <= 300 or not 1 <= args.workers <= 8:
        p.error("--clients must be 1–32, --workers 1–8 and --duration in (0, 300] seconds")
    if not (Path(args.model_dir) / "meta.json").is_file():
        print(f"no model in {args.model_dir}: run notebook 02 first (./run_all.sh 02)", file=sys.stderr)
        return 2

    from lib.emails.demo import generate_demo_inbox

    texts = generate_demo_inbox(n=args.n_texts, seed=args.seed)["text"].astype(str).tolist()
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    stages = stage_timings(args.model_dir, texts[: args.stage_texts], args.pii_detector) if args.stage_texts else {}
    detector = ["--pii-detector", args.pii_detector] if args.pii_detector else []
    server = subprocess.Popen([sys.executable, "-m", "lib.serving", "--model-dir", args.model_dir, "--host", HOST,
                               "--port", str(port), "--log-level", "warning", "--workers", str(args.workers),
                               *detector], cwd=ROOT, env=env)
    try:
        t_start = time.perf_counter()
        health = wait_until_loaded(base, server, timeout_s=180)
        ready_s = time.perf_counter() - t_start
        with httpx.Client(base_url=base, timeout=30) as c:
            for t in texts[: args.warmup]:
                c.post("/predict", json={"text": t})
        load_before = os.getloadavg()[0]
        results: list[tuple[float, int]] = []
        lock, budget = threading.Lock(), [args.max_requests]
        t0 = time.perf_counter()
        stop_at = t0 + args.duration
        threads = [threading.Thread(target=client_loop, args=(base, texts, stop_at, budget, lock, results,
                                                              k * len(texts) // args.clients))
                   for k in range(args.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=args.duration + 60)
        elapsed = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()  # only the server this script started
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()

    lat_ms = np.array([r[0] for r in results]) * 1000
    status = np.array([r[1] for r in results])
    ok = status == 200
    try:
        import torch

        torch_threads = torch.get_num_threads()
    except ImportError:
        torch_threads = None
    record = {
        "benchmark": "api_load",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {"clients": args.clients, "workers": args.workers, "duration_s": args.duration,
                     "max_requests": args.max_requests,
                     "warmup": args.warmup, "n_texts": args.n_texts, "host": HOST,
                     "texts": "raw demo inbox e-mails (synthetic, with PII; anonymised by the server)"},
        "model": {"name": health.get("model_name"), "version": health.get("model_version"),
                  "labels": len(health.get("labels", [])), "pii_detector": health.get("pii_detector")},
        "results": {
            "requests": int(len(results)), "ok": int(ok.sum()), "errors": int((~ok).sum()),
            "status_counts": {str(s): int((status == s).sum()) for s in np.unique(status)} if len(status) else {},
            "elapsed_s": round(elapsed, 2),
            "requests_per_s": round(float(ok.sum() / elapsed), 2) if elapsed > 0 else None,
            "latency_ms": {q: round(float(np.percentile(lat_ms[ok], v)), 1) if ok.any() else None
                           for q, v in (("p50", 50), ("p95", 95), ("p99", 99))} | (
                {"mean": round(float(lat_ms[ok].mean()), 1), "max": round(float(lat_ms[ok].max()), 1)}
                if ok.any() else {}),
            "server_ready_s": round(ready_s, 1),
        },
        "stages_ms": stages,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch_threads, "platform": platform.platform(),
                    "python": platform.python_version(), "load_avg_1min_before": round(load_before, 2),
                    "load_avg_1min_after": round(load_after, 2),
                    "note": "shared machine: other jobs were running; the client threads share the CPU with the server"},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    r = record["results"]
    print(f"{r['requests']} requests ({r['errors']} errors) in {r['elapsed_s']} s: {r['requests_per_s']} req/s, "
          f"latency p50 {r['latency_ms'].get('p50')} ms, p95 {r['latency_ms'].get('p95')} ms, "
          f"p99 {r['latency_ms'].get('p99')} ms → {out}")
    if stages:
        print("stages (ms, mean / p95, one text at a time):",
              ", ".join(f"{k} {v['mean']:.1f}/{v['p95']:.1f}" for k, v in stages.items()))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
