"""Latency of the assistant's grounded path, one request at a time, in a fresh process (as the chat command serves).

    .venv/bin/python benchmarks/assistant_generation.py --adapter models/assistant/smollm2-135m-instruct-default

Loads a trained adapter, then for each configuration (adapter merged into the weights, as notebook 07 and the chat
command answer; adapter unmerged) answers the same held-out test turns one request at a time with the facts block
in the prompt (router → rules → model) and the default profile's decoding (greedy, repetition penalty 1.1, at most
100 new tokens). Records p50/p95 latency, new tokens per second, latency by kind of turn and the oracle's
resolution of those answers (a check that the timed answers are the right ones). Writes
benchmarks/results/assistant_generation.json with machine information and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import torch

    from lib.assistant.data import heldout_test_set, sample_items
    from lib.assistant.evaluate import eval_items, prompts_for, score_answers
    from lib.assistant.finetune import load_adapter
    from lib.assistant.generation import GenerationSettings, generate_answers
    from lib.assistant.preprocess import Preprocessor

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", required=True)
    p.add_argument("--n", type=int, default=24, help="held-out test turns answered per configuration")
    p.add_argument("--max-new-tokens", type=int, default=100)
    p.add_argument("--repetition-penalty", type=float, default=1.1)
    p.add_argument("--configs", nargs="+", choices=["merged", "unmerged"], default=["merged", "unmerged"])
    p.add_argument("--threads", type=int, default=2, help="torch threads (0: default)")
    p.add_argument("--seed", type=int, default=42, help="the default profile's seed: the same held-out test set")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "assistant_generation.json"))
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tok, model, manifest = load_adapter(args.adapter)
    pre = Preprocessor()
    items = sample_items(eval_items([pre.conversation(r) for r in heldout_test_set(200, args.seed)]), args.n,
                         args.seed + 2)  # another draw than 07's test sample: these are timed, not scored
    prompts = prompts_for(items, system=manifest.get("system_prompt"), with_facts=True,
                          keep_turns=manifest.get("keep_turns", 1))
    settings = GenerationSettings(do_sample=False, repetition_penalty=args.repetition_penalty,
                                  max_new_tokens=args.max_new_tokens, seed=args.seed)
    generate_answers(model, tok, prompts[:1], settings, batch_size=1, desc="warm-up")
    rows = []
    for name in [c for c in ("unmerged", "merged") if c in args.configs]:  # merging changes the model: last
        m = model.merge_and_unload() if name == "merged" else model
        answers = generate_answers(m, tok, prompts, settings, batch_size=1, desc=f"lora ({name})")
        lat = np.array([a.wait_s for a in answers])
        ntok = np.array([a.n_new_tokens for a in answers])
        scored = score_answers(items, [a.text for a in answers])
        by_kind: dict[str, list[float]] = {}
        for it, t in zip(items, lat):
            by_kind.setdefault(it.kind, []).append(float(t))
        rows.append({"config": f"lora ({name})", "answers": len(answers), "latency_p50_s": round(float(np.percentile(lat, 50)), 3),
                     "latency_p95_s": round(float(np.percentile(lat, 95)), 3), "latency_mean_s": round(float(lat.mean()), 3),
                     "new_tokens_median": int(np.median(ntok)), "tokens_per_s": round(float(ntok.sum() / lat.sum()), 2),
                     "latency_p50_by_kind_s": {k: round(float(np.median(v)), 2) for k, v in sorted(by_kind.items())},
                     "resolution_rate": round(scored["resolution_rate"], 4)})
        print(rows[-1])
    out = {"benchmark": "assistant_generation", "adapter": args.adapter, "base_model": manifest.get("base_model"),
           "adapter_steps": manifest.get("steps"), "decoding": "greedy", "repetition_penalty": args.repetition_penalty,
           "max_new_tokens": args.max_new_tokens, "prompts": len(prompts), "grounded": True, "results": rows,
           "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                       "platform": platform.platform(), "processor": platform.processor(),
                       "cuda": torch.cuda.is_available(), "torch": torch.__version__,
                       "load_average": os.getloadavg()},
           "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
