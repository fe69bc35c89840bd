"""Chat-template prompts, the assistant-only loss mask, and a tiny LoRA step that changes only adapter weights."""
import json

import pytest
import torch

from lib.assistant.finetune import (LoraSettings, TrainSettings, assistant_nll, attach_lora, collate, train_lora)
from lib.assistant.prompting import (IGNORE_INDEX, build_messages, compact_system_prompt, encode_for_training,
                                     pick_few_shot, render_prompt, system_prompt)

CONV = [{"role": "user", "content": "frais pour 5000 de wave vers mtn ?"},
        {"role": "assistant", "content": "Les frais sont de 100 FCFA."},
        {"role": "user", "content": "ok merci"},
        {"role": "assistant", "content": "Avec plaisir !"}]


def test_system_prompt_states_the_rules():
    s = system_prompt()
    for fact in ("1 %", "2 %", "25 FCFA", "500 FCFA", "100 FCFA", "1 500 000 FCFA", "WhatsApp", "24h/24",
                 "Trésor Money", "identifiant de la transaction"):
        assert fact in s
    assert "EasyTransfert" in compact_system_prompt()


def test_prompt_uses_the_models_chat_template(smol_tokenizer):
    msgs = build_messages(CONV[:1])
    text = render_prompt(smol_tokenizer, msgs)
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")
    assert msgs[0]["content"] == system_prompt()


def test_few_shot_examples_come_before_the_conversation():
    recs = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
             "meta": {"intent": f"i{i % 3}"}} for i in range(9)]
    shots = pick_few_shot(recs, 2, seed=0)
    msgs = build_messages(CONV[:1], few_shot=shots)
    assert len(shots) == 2 and len({s["meta"]["intent"] for s in shots}) == 2
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]


def test_loss_mask_covers_assistant_tokens_only(smol_tokenizer):
    tok = smol_tokenizer
    enc = encode_for_training(tok, build_messages(CONV), max_length=2048)
    kept = [t for t, l in zip(enc.input_ids, enc.labels) if l != IGNORE_INDEX]
    assert all(l in (IGNORE_INDEX, t) for t, l in zip(enc.input_ids, enc.labels))
    assert tok.decode(kept) == "Les frais sont de 100 FCFA.<|im_end|>Avec plaisir !<|im_end|>"
    masked = tok.decode([t for t, l in zip(enc.input_ids, enc.labels) if l == IGNORE_INDEX])
    assert "frais pour 5000" in masked and "ok merci" in masked and "EasyTransfert" in masked
    assert "Les frais sont" not in masked
    assert enc.n_target == len(kept) and not enc.truncated


def test_truncation_is_flagged(smol_tokenizer):
    enc = encode_for_training(smol_tokenizer, build_messages(CONV), max_length=40)
    assert enc.truncated and len(enc.input_ids) == 40


def test_nll_ignores_masked_positions(smol_tokenizer, tiny_llama):
    """Changing a masked (user) token's label has no effect; the count is the number of assistant tokens."""
    enc = encode_for_training(smol_tokenizer, build_messages(CONV), max_length=2048)
    batch = collate([{"input_ids": enc.input_ids, "labels": enc.labels}], smol_tokenizer.pad_token_id)
    with torch.no_grad():
        nll, n = assistant_nll(tiny_llama, batch)
        full = tiny_llama(input_ids=batch["input_ids"]).logits[0, :-1]
        tgt = batch["labels"][0, 1:]
        ref = torch.nn.functional.cross_entropy(full, tgt, ignore_index=IGNORE_INDEX, reduction="sum")
    assert n == enc.n_target
    assert torch.isclose(nll, ref, rtol=1e-4)


def test_tiny_lora_step_changes_only_adapter_weights(smol_tokenizer, tiny_llama, tmp_path):
    model = attach_lora(tiny_llama, LoraSettings())
    targets = {n.split(".")[-2] for n, _ in model.named_modules() if n.endswith("lora_A")}
    assert targets == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    enc = [encode_for_training(smol_tokenizer, build_messages(CONV), max_length=256)] * 4
    res = train_lora(model, smol_tokenizer, enc, tmp_path / "adapter",
                     TrainSettings(per_device_batch=2, grad_accum=2, max_steps=2, learning_rate=1e-2))
    changed = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert changed, "no weight moved"
    assert all("lora_" in n for n in changed), sorted(n for n in changed if "lora_" not in n)[:5]
    assert any("lora_B" in n for n in changed)
    assert res.steps == 2 and len([h for h in res.log_history if "loss" in h]) == 2
    files = {p.name for p in (tmp_path / "adapter").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "training_manifest.json"} <= files
    cfg = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert (cfg["r"], cfg["lora_alpha"], cfg["lora_dropout"]) == (16, 32, 0.05)


def test_gpu_only_paths_fail_clearly_on_cpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from lib.assistant.finetune import load_base_model
    from lib.core.registry import ModelUnavailableError

    with pytest.raises(ModelUnavailableError, match="CUDA"):
        load_base_model("meta-llama/Llama-3.2-3B-Instruct", quantization="nf4", gradient_checkpointing=True)
    with pytest.raises(ModelUnavailableError, match="CUDA"):  # the full profile's path with an offline model
        load_base_model("smollm2-135m-instruct", quantization="nf4", gradient_checkpointing=True)
    with pytest.raises(RuntimeError, match="CUDA"):
        train_lora(None, None, [], "/tmp/unused", TrainSettings(optim="paged_adamw_8bit"))


def test_validation_loss_and_the_best_step_is_kept(smol_tokenizer, tiny_llama, tmp_path):
    """A learning rate high enough to overshoot: the adapter kept is the step with the lowest validation loss."""
    from lib.assistant.evaluate import perplexity
    from lib.assistant.prompting import encode_turns, turn_examples

    recs = [{"messages": CONV, "meta": {}}]
    enc = encode_turns(smol_tokenizer, turn_examples(recs, "SYS"), 256)
    assert len(enc) == 2 and all(e.n_target < 20 for e in enc)  # the loss covers each example's last answer only
    model = attach_lora(tiny_llama, LoraSettings())
    res = train_lora(model, smol_tokenizer, enc * 4, tmp_path / "adapter",
                     TrainSettings(per_device_batch=2, grad_accum=1, max_steps=6, learning_rate=3.0),
                     validation=enc, eval_every=1, eval_batch=2)
    val = dict(res.validation)
    assert sorted(val) == [1, 2, 3, 4, 5, 6]
    assert res.best_step == min(val, key=val.get) and res.best_validation_loss == min(val.values())
    assert res.best_step < 6  # seeded: the last step is not the best, so restoring is exercised
    assert [h["step"] for h in res.log_history if "eval_loss" in h] == [1, 2, 3, 4, 5, 6]
    # The weights in the model (and saved) are those of the best step, not the last one.
    kept = perplexity(model, smol_tokenizer, enc, 2)["nll"]
    assert kept == pytest.approx(res.best_validation_loss, rel=1e-4)
    manifest = json.loads((tmp_path / "adapter" / "training_manifest.json").read_text())
    assert manifest["best_step"] == res.best_step


def test_cpu_bf16_training_runs_its_forward_in_bf16(smol_tokenizer, tiny_llama, tmp_path, monkeypatch):
    """`bf16=True` on a CPU: the Trainer's own flag leaves the forward in fp32, so the loss applies autocast."""
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: bf16 goes through TrainingArguments there")
    model = attach_lora(tiny_llama, LoraSettings())
    seen: list[torch.dtype] = []
    layer = model.base_model.model.model.layers[0].mlp.down_proj.base_layer
    hook = layer.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype) if mod.training else None)
    enc = [encode_for_training(smol_tokenizer, build_messages(CONV), max_length=256)] * 2
    for bf16 in (False, True):
        seen.clear()
        train_lora(model, smol_tokenizer, enc, tmp_path / f"a{bf16}",
                   TrainSettings(per_device_batch=2, grad_accum=1, max_steps=1, bf16=bf16))
        assert seen and set(seen) == {torch.bfloat16 if bf16 else torch.float32}, (bf16, seen)
    hook.remove()
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, not a cast of the weights


def test_training_draws_a_step_bar_and_prints_no_log_per_step(smol_tokenizer, tiny_llama, tmp_path, capsys):
    """Only the step bar: the Trainer's default callbacks would print every per-step log into the report."""
    model = attach_lora(tiny_llama, LoraSettings())
    enc = [encode_for_training(smol_tokenizer, build_messages(CONV), max_length=256)] * 2
    res = train_lora(model, smol_tokenizer, enc, tmp_path / "a",
                     TrainSettings(per_device_batch=1, grad_accum=1, max_steps=2))
    out = capsys.readouterr()
    assert len([h for h in res.log_history if "loss" in h]) == 2  # still logged, for the learning curve
    assert "'loss'" not in out.out + out.err and "grad_norm" not in out.out + out.err
    assert "2/2" in out.err  # the bar itself


def test_use_bf16_follows_the_hardware_and_the_switch():
    from lib.assistant.finetune import cpu_bf16_supported, use_bf16

    if torch.cuda.is_available():
        assert use_bf16("nf4", False) and not use_bf16("", True)
    else:
        assert use_bf16("", True) == cpu_bf16_supported() and not use_bf16("", False)
