"""Choose 07's learning rate and sampling temperature on validation turns (never on the test turns).

Short LoRA runs (same rows, same steps, same cosine schedule) for each learning rate, scored by the validation
loss; then the adapter of the best rate answers validation turns at each temperature, scored by the oracle's
resolution rate. Writes benchmarks/results/assistant_lr_temperature.json.

    .venv/bin/python benchmarks/assistant_lr_temperature.py --steps 30 --lrs 2e-4 1e-3 --temperatures 0.7 0.3 0
    .venv/bin/python benchmarks/assistant_lr_temperature.py --steps 40 --lrs 1e-3 --group-by-length on off --bf16 \
        --temperatures 0 --repetition-penalties 1.0 1.1 --out benchmarks/results/assistant_batching.json
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lrs", type=float, nargs="+", default=[2e-4, 1e-3])
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.7, 0.3, 0.0], help="0 = greedy")
    p.add_argument("--n-val", type=int, default=48, help="validation turns for the loss")
    p.add_argument("--n-gen", type=int, default=32, help="validation turns answered per temperature")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--adapter", help="a trained adapter folder: skip the learning-rate runs, compare decoding only")
    p.add_argument("--repetition-penalties", type=float, nargs="+", default=[1.1])
    p.add_argument("--group-by-length", nargs="+", choices=["on", "off"], default=["on"],
                   help="batches of similar lengths (on) or shuffled batches mixing every kind (off)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast on a CPU with native bf16 (AMX/AVX512-BF16)")
    p.add_argument("--out", default="benchmarks/results/assistant_lr_temperature.json")
    args = p.parse_args()

    import numpy as np
    import torch

    from lib.assistant.conversations import split_conversations
    from lib.assistant.data import load_conversations, sample_items
    from lib.assistant.evaluate import eval_items, prompts_for, score_answers
    from lib.assistant.finetune import (LoraSettings, TrainSettings, attach_lora, cpu_bf16_supported, load_base_model,
                                        train_lora)
    from lib.assistant.generation import GenerationSettings, generate_answers
    from lib.assistant.preprocess import Preprocessor
    from lib.assistant.prompting import encode_turns, system_prompt_for, turn_examples

    torch.set_num_threads(args.threads)
    data = load_conversations("", 3031, 42)  # the default profile's conversations, seed and split
    parts = split_conversations(data.records, {"train": 0.85, "validation": 0.15}, seed=42)
    pre = Preprocessor()
    train = [pre.conversation(r) for r in parts["train"]]
    val = [pre.conversation(r) for r in parts["validation"]]
    system = system_prompt_for("compact")
    out: dict = {"machine": platform.platform(), "threads": args.threads, "steps": args.steps, "batch": args.batch,
                 "data": data.name, "n_train_conversations": len(train), "lr": {}, "temperature": {}}
    best = None
    if args.adapter:
        from lib.assistant.finetune import load_adapter

        tok, model, manifest = load_adapter(args.adapter)
        best = (None, (manifest.get("settings", {}).get("learning_rate"), None), tok, model.merge_and_unload())
        out["adapter_steps"], out["adapter_best_step"] = manifest.get("steps"), manifest.get("best_step")
        out["adapter"] = args.adapter
    bf16 = args.bf16 and cpu_bf16_supported()
    out["bf16"] = bf16
    variants = [] if args.adapter else [(lr, g) for lr in args.lrs for g in args.group_by_length]
    train_enc = val_enc = None
    for lr, g in variants:
        tok, model = load_base_model("smollm2-135m-instruct")
        model = attach_lora(model, LoraSettings())
        if train_enc is None:  # the same tokenizer for every variant: encode once
            train_enc = encode_turns(tok, turn_examples(train, system, keep_turns=1), 288)
            val_enc = encode_turns(tok, sample_items(turn_examples(val, system, keep_turns=1), args.n_val, 42), 288)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = train_lora(model, tok, train_enc, Path(tmp) / "a", TrainSettings(
                learning_rate=lr, per_device_batch=args.batch, grad_accum=1, max_steps=args.steps, seed=42,
                group_by_length=g == "on", bf16=bf16), validation=val_enc, eval_every=max(args.steps // 2, 1))
            key = str(lr) if args.group_by_length == ["on"] else f"lr={lr:g}, group_by_length={g}"
            out["lr"][key] = {"validation": res.validation, "best_validation_loss": res.best_validation_loss,
                              "seconds": round(time.perf_counter() - t0, 1),
                              "seconds_per_step": round(res.train_seconds / max(res.steps, 1), 2)}
        print(f"{key}: validation loss {res.validation}, {out['lr'][key]['seconds_per_step']} s per step")
        if best is None or res.best_validation_loss < best[0]:
            best = (res.best_validation_loss, (lr, g), tok, model.merge_and_unload())
        else:
            del model
    _, (out["chosen_lr"], chosen_grouping), tok, model = best
    if chosen_grouping is not None:
        out["chosen_group_by_length"] = chosen_grouping
    items = sample_items([it for it in eval_items(val)], args.n_gen, 7)
    prompts = prompts_for(items, system=system, with_facts=True, keep_turns=1)
    for t in args.temperatures:
        for rp in args.repetition_penalties:
            gen = GenerationSettings(temperature=t or 1.0, do_sample=t > 0, max_new_tokens=100, seed=42,
                                     repetition_penalty=rp)
            ans = generate_answers(model, tok, prompts, gen, 16, desc=f"T={t} rp={rp}")
            r = score_answers(items, [a.text for a in ans])
            key = str(t) if args.repetition_penalties == [1.1] else f"T={t}, repetition_penalty={rp}"
            out["temperature"][key] = {k: r[k] for k in ("resolution_rate", "hallucination_rate", "fee_accuracy")}
            print(f"{key}: {out['temperature'][key]}")
    out["n_gen"] = len(items)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, default=float))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
