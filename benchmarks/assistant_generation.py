"""Generation speed of the assistant on this CPU: base vs LoRA adapter (unmerged and merged), batch sizes.

    .venv/bin/python benchmarks/assistant_generation.py --adapter models/assistant/smollm2-135m-instruct-default

For each configuration, answers the same test prompts (generated conversations, compact system prompt) with the
study's sampling settings and records the time per answer, new tokens per second and the guardrail's
interventions. Writes benchmarks/results/assistant_generation.json with machine information.
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
    import torch

    from lib.assistant.conversations import ConversationGenerator
    from lib.assistant.evaluate import eval_items, prompts_for
    from lib.assistant.finetune import load_adapter
    from lib.assistant.generation import GenerationSettings, generate_answers
    from lib.assistant.guardrails import Guardrail
    from lib.assistant.preprocess import Preprocessor

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", required=True)
    p.add_argument("--n", type=int, default=8, help="prompts per configuration")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--batch-sizes", default="1,4")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "assistant_generation.json"))
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tok, model, manifest = load_adapter(args.adapter)
    system = manifest.get("system_prompt")
    pre = Preprocessor()
    recs = [pre.conversation(r) for r in ConversationGenerator(seed=1234).generate(200)]
    items = eval_items(recs, args.n, seed=0)
    prompts = prompts_for(items, system=system)
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, seed=0)
    rows = []

    def bench(name: str, m, bs: int) -> None:
        t0 = time.perf_counter()
        answers = generate_answers(m, tok, prompts, settings, batch_size=bs, desc=f"{name} bs={bs}")
        wall = time.perf_counter() - t0
        g = Guardrail()
        for a, it in zip(answers, items):
            g.apply(a.text, it.context)
        ntok = sum(a.n_new_tokens for a in answers)
        rows.append({"config": name, "batch_size": bs, "answers": len(answers), "wall_s": round(wall, 2),
                     "s_per_answer": round(wall / len(answers), 3), "new_tokens": ntok,
                     "tokens_per_s": round(ntok / wall, 2), "guardrail_interventions": dict(g.counts)})
        print(rows[-1])

    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        with model.disable_adapter():
            bench("base", model, bs)
        bench("lora (unmerged)", model, bs)
    merged = model.merge_and_unload()
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        bench("lora (merged)", merged, bs)
    out = {"benchmark": "assistant_generation", "adapter": args.adapter, "base_model": manifest.get("base_model"),
           "max_new_tokens": args.max_new_tokens, "prompts": len(prompts), "results": rows,
           "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                       "platform": platform.platform(), "processor": platform.processor(),
                       "cuda": torch.cuda.is_available(), "torch": torch.__version__,
                       "load_average": os.getloadavg(),
                       "note": "shared machine: other jobs were running, timings are pessimistic"},
           "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
