"""LoRA / QLoRA fine-tuning of a causal LM on support conversations, loss on the assistant's tokens only.

One code path for both profiles, selected by parameters:

- CPU (smoke/default): the registry's offline `smollm2-135m-instruct`, fp32, AdamW (torch);
- GPU (full): `meta-llama/Llama-3.2-3B-Instruct` loaded in 4-bit NF4 with double quantisation
  (`quantization="nf4"`), `prepare_model_for_kbit_training`, gradient checkpointing and paged 8-bit AdamW
  (`optim="paged_adamw_8bit"`). On a machine without CUDA that path raises a clear error.

LoRA: r=16, alpha=32, dropout 0.05 on q, k, v, o, gate, up, down projections. Cosine schedule, warmup 3 %,
lr 2e-4, effective batch 16 = per-device batch x gradient accumulation. Adapters are saved as safetensors with
their `adapter_config.json` and a `training_manifest.json` (base model, rules, settings, loss history).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lib.assistant.prompting import IGNORE_INDEX, Encoded

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoraSettings:
    """peft LoRA hyper-parameters (the study's values by default)."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = LORA_TARGETS


@dataclass
class TrainSettings:
    """Optimisation settings; `effective_batch = per_device_batch * grad_accum`."""

    learning_rate: float = 2e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    per_device_batch: int = 4
    grad_accum: int = 4
    max_steps: int = -1  # -1: run `epochs` over the data
    epochs: float = 1.0
    optim: str = "adamw_torch"  # "paged_adamw_8bit" on a GPU with bitsandbytes
    gradient_checkpointing: bool = False
    seed: int = 0
    logging_steps: int = 1
    bf16: bool = False  # bf16 mixed precision (GPU with QLoRA; CPU autocast where `cpu_bf16_supported()`)
    # Batches of similar lengths pad less, but lengths follow the kind of answer: each batch then holds one kind,
    # and 40 steps reached a validation loss of 1.21 against 0.28 shuffled (benchmarks/results/assistant_batching.json).
    group_by_length: bool = False

    @property
    def effective_batch(self) -> int:
        return self.per_device_batch * self.grad_accum


def cpu_bf16_supported() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16), so bf16 autocast speeds training up.

    Measured on the 2-core dev machine (AMX): a LoRA step of SmolLM2 at batch 8 (~280 tokens) took 7.1 s under bf16
    autocast against 13.6 s in fp32. Without native bf16 the same autocast is emulated and slower.
    """
    import torch

    if torch.cuda.is_available():
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # private helpers of torch.cpu: absent in another torch, assume no
        return False


def use_bf16(quantization: str | None, bf16_cpu: bool) -> bool:
    """bf16 mixed precision for this run: QLoRA on a GPU, or `bf16_cpu` on a CPU that computes bf16 natively."""
    import torch

    if torch.cuda.is_available():
        return bool(quantization)
    return bf16_cpu and cpu_bf16_supported()


def load_base_model(name: str = "smollm2-135m-instruct", quantization: str | None = None,
                    gradient_checkpointing: bool = False) -> tuple[Any, Any]:
    """(tokenizer, model) through the registry, made ready for (Q)LoRA training.

    Raises:
        lib.core.registry.ModelUnavailableError: NF4 asked without CUDA, or hub weights not reachable.
    """
    import torch

    from lib.core.registry import load_causal_lm

    tok, model = load_causal_lm(name, quantization=quantization,
                                device_map="auto" if (quantization and torch.cuda.is_available()) else None)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if quantization:
        from peft import prepare_model_for_kbit_training

        # Casts norms to fp32, enables input grads and (optionally) gradient checkpointing for the 4-bit base.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = not gradient_checkpointing
    return tok, model


def attach_lora(model: Any, settings: LoraSettings | None = None) -> Any:
    """Wrap a causal LM with fresh LoRA adapters (only they are trainable)."""
    from peft import LoraConfig, get_peft_model

    s = settings or LoraSettings()
    cfg = LoraConfig(r=s.r, lora_alpha=s.alpha, lora_dropout=s.dropout, target_modules=list(s.target_modules),
                     bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


def trainable_parameters(model: Any) -> dict[str, int]:
    """Counts of trainable and total parameters."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "total": total}


class ChatDataset:
    """A list of `Encoded` examples as a torch-style dataset of dicts."""

    def __init__(self, examples: list[Encoded]):
        self.examples = [e for e in examples if e.n_target > 0]
        self.n_without_target = len(examples) - len(self.examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        e = self.examples[i]
        return {"input_ids": e.input_ids, "labels": e.labels}


def collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch: pad tokens get attention 0 and label -100."""
    import torch

    n = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), n), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for i, b in enumerate(batch):
        k = len(b["input_ids"])
        ids[i, :k] = torch.tensor(b["input_ids"])
        labels[i, :k] = torch.tensor(b["labels"])
        mask[i, :k] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def assistant_nll(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """(sum of token NLL, number of target tokens) over the assistant tokens of a batch.

    Only the positions whose next token is a target go through the (large) vocabulary projection.
    """
    import torch
    import torch.nn.functional as F

    labels = batch["labels"]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep,
                use_cache=False)
    logits = out.logits
    targets = labels[:, 1:][keep[:, :-1]]
    logits = logits.reshape(-1, logits.shape[-1])
    if logits.shape[0] != targets.shape[0]:  # a model that ignored logits_to_keep: select the positions here
        logits = out.logits.reshape(*keep.shape, -1)[keep]
    nll = F.cross_entropy(logits.float(), targets, reduction="sum")
    return nll, targets.numel()


def _trainer_class(cpu_bf16: bool = False):
    import contextlib

    import torch
    from transformers import Trainer

    class AssistantOnlyTrainer(Trainer):
        """Trainer whose loss is the mean NLL of the assistant tokens of the whole accumulated batch.

        With `cpu_bf16`, the forward pass runs under CPU bf16 autocast: `TrainingArguments(bf16=True)` leaves a CPU
        run in fp32 (measured: 11.6 s per step either way), autocast here halves it (6.7-7.0 s vs 11.8-15.0 s).
        """

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if cpu_bf16 else contextlib.nullcontext()
            with ctx:
                nll, n = assistant_nll(model, inputs)
            denom = num_items_in_batch if num_items_in_batch is not None else max(n, 1)
            loss = nll / denom
            return (loss, None) if return_outputs else loss

    return AssistantOnlyTrainer


def _step_bar():
    """A progress callback that draws the step bar only.

    The Trainer's defaults print every log: in a notebook, `NotebookProgressCallback` appends a table row per step
    (120 rows in the default run's report, which the learning-curve plot already shows); in a terminal,
    `ProgressCallback` writes each log dict as a line.
    """
    from transformers.trainer_callback import ProgressCallback

    class StepBar(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            pass

    return StepBar


def _notebook_bar() -> tuple[Any, ...]:
    try:
        from transformers.utils.notebook import NotebookProgressCallback
    except ImportError:  # no IPython: the Trainer never used it
        return ()
    return (NotebookProgressCallback,)


def _validation_callback(model: Any, tokenizer: Any, data: list[Encoded], every: int, batch_size: int):
    """A Trainer callback: validation loss every `every` steps (and at the last), best adapter weights kept."""
    from transformers import TrainerCallback

    from lib.assistant.evaluate import perplexity

    class ValidationLoss(TrainerCallback):
        def __init__(self) -> None:
            self.history: list[tuple[int, float]] = []
            self.best: tuple[int, float] | None = None
            self.best_state: dict[str, Any] | None = None

        def evaluate(self, step: int) -> float:
            model.eval()
            loss = perplexity(model, tokenizer, data, batch_size, desc=f"validation @ step {step}",
                              leave=False)["nll"]
            model.train()
            self.history.append((step, loss))
            if self.best is None or loss < self.best[1]:
                self.best = (step, loss)
                self.best_state = {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}
            return loss

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step % every == 0 or state.global_step >= state.max_steps:
                loss = self.evaluate(state.global_step)
                state.log_history.append({"step": state.global_step, "eval_loss": loss})

        def restore_best(self) -> None:
            if self.best_state is None:
                return
            params = dict(model.named_parameters())
            import torch

            with torch.no_grad():
                for k, v in self.best_state.items():
                    params[k].copy_(v)

    return ValidationLoss()


@dataclass
class TrainResult:
    """What a fine-tuning run produced."""

    adapter_dir: Path
    log_history: list[dict[str, Any]]
    train_seconds: float
    steps: int
    examples_seen: int
    tokens_seen: int
    parameters: dict[str, int] = field(default_factory=dict)
    best_step: int | None = None  # the step whose adapter was kept (lowest validation loss)
    best_validation_loss: float | None = None
    validation: list[tuple[int, float]] = field(default_factory=list)


def train_lora(model: Any, tokenizer: Any, train: list[Encoded], output_dir: str | Path,
               settings: TrainSettings | None = None, manifest: dict[str, Any] | None = None,
               validation: list[Encoded] | None = None, eval_every: int = 20, eval_batch: int = 8) -> TrainResult:
    """Fine-tune the LoRA adapters of `model` (a peft model) on `train`; save them to `output_dir`.

    With `validation`, the validation loss (assistant tokens) is measured every `eval_every` steps and at the
    end, and the adapter of the step with the lowest validation loss is the one kept and saved.
    """
    import torch
    from transformers import TrainingArguments

    s = settings or TrainSettings()
    if s.optim.startswith("paged_") and not torch.cuda.is_available():
        raise RuntimeError(f"optim={s.optim!r} (bitsandbytes paged optimiser) needs a CUDA GPU; use 'adamw_torch' on CPU")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data = ChatDataset(train)
    if not len(data):
        raise ValueError("no training example has an assistant token to learn from")
    # Warmup in whole steps, rounded down: transformers rounds a ratio up, which makes the first step of a short
    # CPU run (4 steps) a step at learning rate 0.
    total = s.max_steps if s.max_steps > 0 else math.ceil(len(data) / s.effective_batch * s.epochs)
    warmup = int(s.warmup_ratio * total)
    extra = {"gradient_checkpointing": True} if s.gradient_checkpointing else {}  # deprecated name: pass only when on
    args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"), per_device_train_batch_size=s.per_device_batch,
        gradient_accumulation_steps=s.grad_accum, learning_rate=s.learning_rate, lr_scheduler_type=s.lr_scheduler,
        warmup_steps=warmup, max_steps=s.max_steps, num_train_epochs=s.epochs, optim=s.optim,
        logging_steps=s.logging_steps, save_strategy="no",
        report_to="none", seed=s.seed, data_seed=s.seed, remove_unused_columns=False,
        bf16=s.bf16 and torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(), disable_tqdm=False, dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if s.group_by_length else "random", **extra)
    val_cb = _validation_callback(model, tokenizer, validation, eval_every, eval_batch) if validation else None
    trainer_class = _trainer_class(cpu_bf16=s.bf16 and not torch.cuda.is_available())
    trainer = trainer_class(model=model, args=args, train_dataset=data,
                            data_collator=lambda b: collate(b, tokenizer.pad_token_id),
                            callbacks=[val_cb] if val_cb else None)
    from transformers.trainer_callback import ProgressCallback

    for default_bar in (ProgressCallback, *_notebook_bar()):
        trainer.remove_callback(default_bar)
    trainer.add_callback(_step_bar())
    trainer.model_accepts_loss_kwargs = True  # so the Trainer counts target tokens across accumulation steps
    model.train()
    t0 = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - t0
    model.eval()
    if val_cb is not None:
        val_cb.restore_best()
    steps = int(out.global_step)
    seen = min(steps * s.effective_batch, len(data) * math.ceil(max(s.epochs, 1)))
    tokens = sum(len(e.input_ids) for e in data.examples) * (seen / len(data))
    model.save_pretrained(output_dir, safe_serialization=True)
    tokenizer.save_pretrained(output_dir)
    best = val_cb.best if val_cb is not None else None
    result = TrainResult(output_dir, list(trainer.state.log_history), round(seconds, 2), steps, int(seen),
                         int(tokens), trainable_parameters(model), best[0] if best else None,
                         best[1] if best else None, list(val_cb.history) if val_cb is not None else [])
    record = {"settings": asdict(s), "effective_batch": s.effective_batch, "train_seconds": result.train_seconds,
              "steps": steps, "examples_seen": result.examples_seen, "log_history": result.log_history,
              "parameters": result.parameters, "best_step": result.best_step,
              "best_validation_loss": result.best_validation_loss, **(manifest or {})}
    (output_dir / "training_manifest.json").write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    return result


def load_adapter(adapter_dir: str | Path) -> tuple[Any, Any, dict[str, Any]]:
    """(tokenizer, peft model in eval mode, training manifest) from a saved adapter folder."""
    from peft import PeftModel

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").exists():
        raise FileNotFoundError(f"{adapter_dir} holds no adapter_config.json: train one with the 07 notebook first")
    manifest_path = adapter_dir / "training_manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    base = manifest.get("base_model", "smollm2-135m-instruct")
    tok, model = load_base_model(base, quantization=manifest.get("quantization"))
    model = PeftModel.from_pretrained(model, adapter_dir)
    return tok, model.eval(), manifest
