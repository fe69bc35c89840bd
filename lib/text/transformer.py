"""Fine-tune a pretrained sequence classifier (through the registry) with HPO and early stopping.

The model comes from `lib.core.registry.load_sequence_classifier`: the offline `minilm-l6` here, or a
hub name (`distilbert-base-multilingual-cased`, `camembert-base`) where its weights are reachable
(the `full` profile). Training uses transformers' `Trainer` with early stopping on a validation
split carved from the training data; `search_hyperparameters` wraps it in an optuna study over
learning rate, batch size and epochs, and keeps the best trial's model in memory.
"""
from __future__ import annotations

import gc
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split


@dataclass
class FineTuneConfig:
    """Hyper-parameters of one fine-tuning run."""

    model_name: str = "minilm-l6"
    learning_rate: float = 5e-5
    batch_size: int = 16
    epochs: int = 3
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    patience: int = 2  # early stopping: epochs without a better validation macro-F1
    seed: int = 42


@dataclass
class FineTuneResult:
    """A fine-tuned model with its validation (and optional test) logits and training history."""

    config: FineTuneConfig
    labels: list[str]
    model: Any
    tokenizer: Any
    val_logits: np.ndarray
    val_macro_f1: float
    val_accuracy: float
    best_epoch: float
    epochs_run: float
    history: list[dict[str, float]]
    train_seconds: float
    test_logits: np.ndarray | None = None

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Logits of the fine-tuned model on new texts."""
        return predict_logits(self.model, self.tokenizer, texts, self.config.max_length, batch_size, progress)

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Save model, tokenizer and a `finetune.json` (config, labels, validation figures, extra)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        meta = {"config": asdict(self.config), "labels": self.labels, "val_macro_f1": self.val_macro_f1,
                "val_accuracy": self.val_accuracy, "best_epoch": self.best_epoch, **(extra or {})}
        (folder / "finetune.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
        return folder


class _Encoded:
    """A torch-style dataset of tokenised texts (and labels), padded per batch by the collator."""

    def __init__(self, encodings: dict[str, list], labels: Sequence[int] | None = None):
        self.encodings, self.labels = encodings, None if labels is None else list(labels)

    def __len__(self) -> int:
        return len(self.encodings["input_ids"])

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {k: v[i] for k, v in self.encodings.items()}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        return item


def _encode(tokenizer: Any, texts: Sequence[str], max_length: int, labels: Sequence[int] | None = None) -> _Encoded:
    enc = tokenizer([str(t) for t in texts], truncation=True, max_length=max_length)
    return _Encoded({k: list(v) for k, v in enc.items()}, labels)


def label_indices(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Map label strings to indices of the sorted label list; unknown labels are an error."""
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted({str(v) for v in values} - set(index))
    if unknown:
        raise ValueError(f"labels not in the label list: {unknown[:10]}")
    return np.array([index[str(v)] for v in values], dtype=int)


def split_validation(texts: Sequence[str], y: Sequence[Any], val_size: float = 0.15, seed: int = 42
                     ) -> tuple[list[str], list[Any], list[str], list[Any]]:
    """Carve a validation split from training data, stratified when every class has ≥ 2 rows.

    Returns:
        (train_texts, train_y, val_texts, val_y).
    """
    texts, y = list(texts), list(y)
    counts = pd.Series(y).value_counts()
    n_val = max(int(round(val_size * len(y))), 1)
    stratify = y if counts.min() >= 2 and n_val >= len(counts) else None
    tr_x, va_x, tr_y, va_y = train_test_split(texts, y, test_size=n_val, random_state=seed, stratify=stratify)
    return list(tr_x), list(tr_y), list(va_x), list(va_y)


def predict_logits(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128, batch_size: int = 64,
                   progress: bool = False) -> np.ndarray:
    """Batched inference: (n_texts, n_labels) logits as float32 numpy."""
    import torch
    from tqdm.auto import tqdm

    model.eval()
    device = next(model.parameters()).device
    out = []
    # Sorting by length keeps padding (and time) low; the order is restored at the end.
    order = np.argsort([len(str(t)) for t in texts], kind="stable")
    with torch.inference_mode():
        for i in tqdm(range(0, len(texts), batch_size), desc="predict", disable=not progress):
            chunk = [str(texts[j]) for j in order[i:i + batch_size]]
            enc = tokenizer(chunk, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
            out.append(model(**{k: v.to(device) for k, v in enc.items()}).logits.float().cpu().numpy())
    n_labels = model.config.num_labels
    logits = np.concatenate(out) if out else np.zeros((0, n_labels), dtype="float32")
    restored = np.empty_like(logits)
    restored[order] = logits
    return restored


def fine_tune(train_texts: Sequence[str], train_y: Sequence[str], val_texts: Sequence[str], val_y: Sequence[str],
              labels: Sequence[str], config: FineTuneConfig, test_texts: Sequence[str] | None = None,
              progress: bool = True) -> FineTuneResult:
    """Fine-tune `config.model_name` with transformers' Trainer and early stopping on validation macro-F1.

    Args:
        train_texts / train_y: training texts and label strings.
        val_texts / val_y: the validation split (early stopping and model selection).
        labels: the sorted label list (defines the classifier head).
        config: hyper-parameters.
        test_texts: when given, the best model's test logits are returned too.
        progress: show the Trainer's progress bars.

    Raises:
        lib.core.registry.ModelUnavailableError: the named model's weights are not reachable.
    """
    import torch
    from transformers import (DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments,
                              set_seed)
    from transformers.utils import logging as hf_logging

    from lib.core.registry import load_sequence_classifier

    labels = list(labels)
    set_seed(config.seed)
    tokenizer, model = load_sequence_classifier(config.model_name, num_labels=len(labels),
                                                id2label=dict(enumerate(labels)))
    y_tr, y_va = label_indices(train_y, labels), label_indices(val_y, labels)
    train_ds = _encode(tokenizer, train_texts, config.max_length, y_tr)
    val_ds = _encode(tokenizer, val_texts, config.max_length, y_va)

    def metrics(pred: Any) -> dict[str, float]:
        y_hat = np.asarray(pred.predictions).argmax(-1)
        return {"macro_f1": f1_score(pred.label_ids, y_hat, average="macro", labels=range(len(labels)),
                                     zero_division=0),
                "accuracy": accuracy_score(pred.label_ids, y_hat)}

    steps_per_epoch = int(np.ceil(len(train_ds) / config.batch_size))
    hf_logging.set_verbosity_error()  # the "newly initialised head" warning is expected here
    t0 = time.perf_counter()
    # Checkpoints go to a temporary folder: only the best one matters, and it is reloaded at the end.
    with tempfile.TemporaryDirectory(prefix="finetune-") as tmp:
        args = TrainingArguments(
            output_dir=tmp, num_train_epochs=config.epochs, learning_rate=config.learning_rate,
            per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=64,
            weight_decay=config.weight_decay, warmup_steps=int(config.warmup_ratio * steps_per_epoch * config.epochs),
            eval_strategy="epoch", save_strategy="epoch", save_total_limit=1, save_only_model=True,
            load_best_model_at_end=True, metric_for_best_model="macro_f1", greater_is_better=True,
            logging_strategy="epoch", report_to="none", seed=config.seed, data_seed=config.seed,
            disable_tqdm=not progress, dataloader_num_workers=0, use_cpu=not torch.cuda.is_available(),
        )
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds,
                          data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics,
                          callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience)])
        trainer.train()
        model = trainer.model
    seconds = time.perf_counter() - t0
    history = [{k: float(v) for k, v in h.items() if isinstance(v, (int, float))}
               for h in trainer.state.log_history if "eval_macro_f1" in h]
    best = max(history, key=lambda h: h["eval_macro_f1"]) if history else {}
    val_logits = predict_logits(model, tokenizer, val_texts, config.max_length)
    y_hat = val_logits.argmax(1)
    result = FineTuneResult(
        config=config, labels=labels, model=model, tokenizer=tokenizer, val_logits=val_logits,
        val_macro_f1=float(f1_score(y_va, y_hat, average="macro", labels=range(len(labels)), zero_division=0)),
        val_accuracy=float(accuracy_score(y_va, y_hat)), best_epoch=float(best.get("epoch", np.nan)),
        epochs_run=float(trainer.state.epoch or 0), history=history, train_seconds=round(seconds, 2))
    if test_texts is not None:
        result.test_logits = predict_logits(model, tokenizer, test_texts, config.max_length)
    del trainer
    gc.collect()
    return result


@dataclass
class SearchSpace:
    """The HPO space: learning rate (log-uniform), batch size (choice), epochs (integer range)."""

    learning_rate: tuple[float, float] = (2e-5, 1e-4)
    batch_size: tuple[int, ...] = (8, 16)
    epochs: tuple[int, int] = (1, 3)

    def __post_init__(self) -> None:
        lo, hi = self.learning_rate
        if not 0 < lo <= hi:
            raise ValueError(f"learning_rate range must be 0 < low <= high, got {self.learning_rate}")
        if not self.batch_size or min(self.batch_size) < 1:
            raise ValueError(f"batch_size choices must be positive integers, got {self.batch_size}")
        if not 1 <= self.epochs[0] <= self.epochs[1]:
            raise ValueError(f"epochs range must be 1 <= low <= high, got {self.epochs}")


@dataclass
class SearchResult:
    """An optuna study's trials (a table), the best configuration and its fine-tuned model."""

    trials: pd.DataFrame
    best: FineTuneResult
    study: Any = field(repr=False, default=None)

    @property
    def best_config(self) -> FineTuneConfig:
        return self.best.config


def search_hyperparameters(train_texts: Sequence[str], train_y: Sequence[str], val_texts: Sequence[str],
                           val_y: Sequence[str], labels: Sequence[str], base: FineTuneConfig,
                           space: SearchSpace | None = None, n_trials: int = 4, timeout_s: float | None = None,
                           test_texts: Sequence[str] | None = None, progress: bool = True) -> SearchResult:
    """Optuna (TPE, seeded) over learning rate, batch size and epochs; objective: validation macro-F1.

    Each trial fine-tunes a fresh copy of the pretrained model with early stopping; the best trial's
    model is kept (not retrained) and, when `test_texts` is given, scored on them once at the end.
    """
    import optuna

    space = space or SearchSpace()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    holder: dict[str, FineTuneResult] = {}
    rows: list[dict[str, Any]] = []

    def objective(trial: "optuna.Trial") -> float:
        cfg = FineTuneConfig(**{**asdict(base),
                                "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
                                "batch_size": trial.suggest_categorical("batch_size", list(space.batch_size)),
                                "epochs": trial.suggest_int("epochs", *space.epochs)})
        res = fine_tune(train_texts, train_y, val_texts, val_y, labels, cfg, progress=progress)
        rows.append({"trial": trial.number, "learning_rate": cfg.learning_rate, "batch_size": cfg.batch_size,
                     "epochs": cfg.epochs, "epochs_run": res.epochs_run, "best_epoch": res.best_epoch,
                     "val_macro_f1": res.val_macro_f1, "val_accuracy": res.val_accuracy,
                     "train_s": res.train_seconds})
        score = res.val_macro_f1
        if "best" not in holder or score > holder["best"].val_macro_f1:
            holder["best"] = res  # keep the winner's weights; losers are freed
        else:
            del res
            gc.collect()
        return score

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.seed),
                                study_name=f"finetune-{base.model_name}")
    study.optimize(objective, n_trials=n_trials, timeout=timeout_s, show_progress_bar=progress)
    if "best" not in holder:
        raise RuntimeError("no HPO trial finished (timeout too short?)")
    best = holder["best"]
    if test_texts is not None:
        best.test_logits = best.predict_logits(test_texts)
    return SearchResult(trials=pd.DataFrame(rows), best=best, study=study)


def plot_trials(trials: pd.DataFrame, ax: Any = None) -> Any:
    """Validation macro-F1 per HPO trial, with the running best."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    t = trials.sort_values("trial")
    ax.plot(t["trial"], t["val_macro_f1"], "o", label="trial")
    ax.plot(t["trial"], t["val_macro_f1"].cummax(), "-", label="best so far")
    for _, r in t.iterrows():
        ax.annotate(f"lr {r.learning_rate:.0e}, bs {int(r.batch_size)}, ep {int(r.epochs)}",
                    (r.trial, r.val_macro_f1), fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.set(xlabel="optuna trial (index)", ylabel="validation macro-F1 (0–1)",
           title="HPO: validation macro-F1 by trial", ylim=(0, 1.05))
    ax.set_xticks(t["trial"].tolist())
    ax.legend(loc="lower right")
    return ax


def subsample(texts: Sequence[str], y: Sequence[Any], n: int | None, seed: int = 42) -> tuple[list[str], list[Any]]:
    """At most `n` (text, label) pairs, stratified when every class keeps ≥ 1 example (None or ≥ len: all)."""
    texts, y = list(texts), list(y)
    if n is None or n <= 0 or n >= len(y):
        return texts, y
    counts = pd.Series(y).value_counts()
    stratify = y if counts.min() >= 2 and n >= len(counts) else None
    keep_x, _, keep_y, _ = train_test_split(texts, y, train_size=n, random_state=seed, stratify=stratify)
    return list(keep_x), list(keep_y)


def search_models(model_names: Sequence[str], train_texts: Sequence[str], train_y: Sequence[str],
                  val_texts: Sequence[str], val_y: Sequence[str], labels: Sequence[str], base: FineTuneConfig,
                  space: SearchSpace | None = None, n_trials: int = 4, timeout_s: float | None = None,
                  test_texts: Sequence[str] | None = None, progress: bool = True
                  ) -> tuple[dict[str, SearchResult], str]:
    """`search_hyperparameters` for each named model (same splits, same budget); returns results and the best name.

    A model whose weights are unreachable raises `ModelUnavailableError` (no silent substitution).
    """
    if not model_names:
        raise ValueError("give at least one model name")
    results = {}
    for name in model_names:
        cfg = FineTuneConfig(**{**asdict(base), "model_name": name})
        results[name] = search_hyperparameters(train_texts, train_y, val_texts, val_y, labels, cfg, space, n_trials,
                                               timeout_s, test_texts, progress)
    best = max(results, key=lambda k: results[k].best.val_macro_f1)
    return results, best


def set_cpu_threads(n: int = 0) -> int:
    """Set torch's CPU threads; 0 picks them from the machine's current load and returns the number used.

    Why: torch's OpenMP threads wait for each other at every operation; on a shared machine whose
    cores are busy, two threads can run 3–4 times slower than one (measured here: 0.8 s vs 2.3–3.8 s
    per MiniLM training step). "auto" keeps only the cores the load average leaves free (at least one).
    """
    import os

    import torch

    if n <= 0:
        cpus = os.cpu_count() or 1
        try:
            load = os.getloadavg()[0]
        except OSError:  # not available on this platform
            load = 0.0
        n = max(1, min(cpus, int(cpus - load + 0.5)))
    torch.set_num_threads(n)
    return n
