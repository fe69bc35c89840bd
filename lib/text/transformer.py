"""Fine-tune a pretrained text encoder (through the registry) as a classifier, with HPO and early stopping.

The encoder comes from `lib.core.registry.load_text_encoder`: the offline `multilingual-e5-small` or
`minilm-l6`, or a hub name (`camembert-base`, `xlm-roberta-base`) where its weights are reachable (the
`full` profile). The classifier is the encoder, mean-pooled over the attention mask and L2-normalised
(how sentence encoders such as E5 are trained and used), then a linear head. The head can start from a
logistic regression fitted on the frozen embeddings — linear probing then fine-tuning (LP-FT, Kumar et al.,
ICLR 2022), which keeps the pretrained features from being distorted by a random head on small data.
The word-embedding matrix (96M of E5's 118M parameters) is frozen by default: it is what small data
overfits first, and freezing it makes a CPU step ~3x cheaper.

Training uses transformers' `Trainer` with early stopping on a validation split; `search_hyperparameters`
wraps it in an optuna study over learning rate, batch size and epochs. `cross_fit` gives out-of-fold
logits over the training rows with a fixed configuration, for choices (temperature, ensemble weight,
reject threshold) that must not be made on test. `rows_for_budget` turns a time budget into a number of
training rows from a measured step time.
"""
from __future__ import annotations

import gc
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from lib.core.registry import text_prefix
from lib.evaluation.metrics import classification_scores


@dataclass
class FineTuneConfig:
    """Hyper-parameters of one fine-tuning run."""

    model_name: str = "multilingual-e5-small"
    learning_rate: float = 5e-5
    batch_size: int = 16
    epochs: int = 3
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    patience: int = 2  # early stopping: epochs without a better validation macro-F1
    seed: int = 42
    freeze_embeddings: bool = True  # keep the word-embedding matrix fixed (small data; CPU time)
    dropout: float = 0.1  # before the linear head


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Mean of the token vectors over the attention mask, L2-normalised (as `registry.embed_texts`)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _classifier_class() -> type:
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class MeanPoolClassifier(torch.nn.Module):
        """A text encoder, mean-pooled and normalised, then dropout and a linear head."""

        def __init__(self, encoder: Any, num_labels: int, dropout: float = 0.1):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)
            self.num_labels = num_labels

        def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                    labels: Any = None) -> Any:
            kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
            logits = self.classifier(self.dropout(mean_pool(hidden, attention_mask)))
            loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
            return SequenceClassifierOutput(loss=loss, logits=logits)

    return MeanPoolClassifier


def build_classifier(model_name: str, num_labels: int, dropout: float = 0.1, freeze_embeddings: bool = True,
                     head_init: tuple[np.ndarray, np.ndarray] | None = None, encoder: tuple[Any, Any] | None = None
                     ) -> tuple[Any, Any]:
    """(tokenizer, classifier) on a fresh copy of the pretrained encoder.

    Args:
        head_init: (W, b) of shape (num_labels, hidden) and (num_labels,), e.g. a logistic regression's
            `coef_`/`intercept_` fitted on `registry.embed_texts` of the same rows (LP-FT); None: random head.
        encoder: an already loaded (tokenizer, model) pair to copy instead of reading the weights again.

    Raises:
        lib.core.registry.ModelUnavailableError: the named model's weights are not reachable.
    """
    import copy

    import torch

    from lib.core.registry import load_text_encoder

    tok, enc = encoder if encoder is not None else load_text_encoder(model_name)
    enc = copy.deepcopy(enc) if encoder is not None else enc
    model = _classifier_class()(enc, num_labels, dropout)
    if freeze_embeddings:
        enc.get_input_embeddings().weight.requires_grad_(False)
    if head_init is not None:
        W, b = (np.asarray(a, dtype=np.float32) for a in head_init)
        if W.shape != tuple(model.classifier.weight.shape):
            raise ValueError(f"head_init W has shape {W.shape}, the head needs {tuple(model.classifier.weight.shape)}")
        with torch.no_grad():
            model.classifier.weight.copy_(torch.from_numpy(W))
            model.classifier.bias.copy_(torch.from_numpy(b))
    return tok, model


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
    n_train: int = 0

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Logits of the fine-tuned model on new texts."""
        return predict_logits(self.model, self.tokenizer, texts, self.config.max_length, batch_size, progress,
                              prefix=text_prefix(self.config.model_name))

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Save encoder + tokenizer (transformers folder), the head (`head.safetensors`) and `finetune.json`."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        save_file({k: v.detach().contiguous() for k, v in self.model.classifier.state_dict().items()},
                  str(folder / "head.safetensors"))
        meta = {"config": asdict(self.config), "labels": self.labels, "prefix": text_prefix(self.config.model_name),
                "val_macro_f1": self.val_macro_f1, "val_accuracy": self.val_accuracy, "best_epoch": self.best_epoch,
                "n_train": self.n_train, **(extra or {})}
        (folder / "finetune.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
        return folder


@dataclass
class FineTunedClassifier:
    """A saved fine-tuned classifier loaded back: `predict_logits(texts)` and its metadata."""

    model: Any
    tokenizer: Any
    labels: list[str]
    meta: dict[str, Any]

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return predict_logits(self.model, self.tokenizer, texts, int(self.meta["config"]["max_length"]), batch_size,
                              prefix=self.meta.get("prefix", ""))


def load_fine_tuned(folder: str | Path) -> FineTunedClassifier:
    """Load what `FineTuneResult.save` wrote (no network: every file is in `folder`)."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    folder = Path(folder)
    meta_path = folder / "finetune.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} holds no fine-tuned classifier (finetune.json missing): run notebook 03")
    meta = json.loads(meta_path.read_text())
    encoder = AutoModel.from_pretrained(folder, add_pooling_layer=False) if _is_bert(folder) else \
        AutoModel.from_pretrained(folder)
    model = _classifier_class()(encoder, len(meta["labels"]), float(meta["config"].get("dropout", 0.1)))
    model.classifier.load_state_dict(load_file(str(folder / "head.safetensors")))
    return FineTunedClassifier(model.eval(), AutoTokenizer.from_pretrained(folder), list(meta["labels"]), meta)


def _is_bert(folder: Path) -> bool:
    cfg = json.loads((folder / "config.json").read_text())
    return cfg.get("model_type") == "bert"


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


def _encode(tokenizer: Any, texts: Sequence[str], max_length: int, labels: Sequence[int] | None = None,
            prefix: str = "") -> _Encoded:
    enc = tokenizer([prefix + str(t) for t in texts], truncation=True, max_length=max_length)
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
                   progress: bool = False, prefix: str = "") -> np.ndarray:
    """Batched inference: (n_texts, n_labels) logits as float32 numpy (`prefix` put before each text)."""
    import torch
    from tqdm.auto import tqdm

    model.eval()
    device = next(model.parameters()).device
    out = []
    # Sorting by length keeps padding (and time) low; the order is restored at the end.
    order = np.argsort([len(str(t)) for t in texts], kind="stable")
    with torch.inference_mode():
        for i in tqdm(range(0, len(texts), batch_size), desc="predict", disable=not progress):
            chunk = [prefix + str(texts[j]) for j in order[i:i + batch_size]]
            enc = tokenizer(chunk, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
            out.append(model(**{k: v.to(device) for k, v in enc.items()}).logits.float().cpu().numpy())
    n_labels = getattr(model, "num_labels", None) or model.config.num_labels
    logits = np.concatenate(out) if out else np.zeros((0, n_labels), dtype="float32")
    restored = np.empty_like(logits)
    restored[order] = logits
    return restored


def _macro_f1(y: np.ndarray, y_hat: np.ndarray, k: int) -> float:
    return classification_scores(y, y_hat, labels=range(k))["macro_f1"]


def fine_tune(train_texts: Sequence[str], train_y: Sequence[str], val_texts: Sequence[str] | None,
              val_y: Sequence[str] | None, labels: Sequence[str], config: FineTuneConfig,
              test_texts: Sequence[str] | None = None, progress: bool = True,
              head_init: tuple[np.ndarray, np.ndarray] | None = None, encoder: tuple[Any, Any] | None = None
              ) -> FineTuneResult:
    """Fine-tune `config.model_name` with transformers' Trainer; early stopping on validation macro-F1.

    Args:
        train_texts / train_y: training texts and label strings.
        val_texts / val_y: the validation split (early stopping, best epoch kept). None: train exactly
            `config.epochs` epochs and keep the last (used by `cross_fit`, whose epochs were chosen before).
        labels: the sorted label list (defines the classifier head).
        config: hyper-parameters.
        test_texts: when given, the kept model's test logits are returned too.
        progress: show the Trainer's progress bars.
        head_init: start the head from these (W, b) (LP-FT); see `build_classifier`.
        encoder: a loaded (tokenizer, encoder) to copy, so repeated fits do not re-read the weights.

    Raises:
        lib.core.registry.ModelUnavailableError: the named model's weights are not reachable.
    """
    import torch
    from transformers import (DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments,
                              set_seed)
    from transformers.utils import logging as hf_logging

    labels = list(labels)
    set_seed(config.seed)
    tokenizer, model = build_classifier(config.model_name, len(labels), config.dropout, config.freeze_embeddings,
                                        head_init, encoder)
    prefix = text_prefix(config.model_name)
    y_tr = label_indices(train_y, labels)
    train_ds = _encode(tokenizer, train_texts, config.max_length, y_tr, prefix)
    has_val = val_texts is not None and len(val_texts) > 0
    y_va = label_indices(val_y, labels) if has_val else None
    val_ds = _encode(tokenizer, val_texts, config.max_length, y_va, prefix) if has_val else None

    def metrics(pred: Any) -> dict[str, float]:
        y_hat = np.asarray(pred.predictions).argmax(-1)
        return {"macro_f1": _macro_f1(pred.label_ids, y_hat, len(labels)),
                "accuracy": accuracy_score(pred.label_ids, y_hat)}

    steps_per_epoch = int(np.ceil(len(train_ds) / config.batch_size))
    hf_logging.set_verbosity_error()
    t0 = time.perf_counter()
    # Checkpoints go to a temporary folder: only the best one matters, and it is reloaded at the end.
    with tempfile.TemporaryDirectory(prefix="finetune-") as tmp:
        strategy = "epoch" if has_val else "no"
        args = TrainingArguments(
            output_dir=tmp, num_train_epochs=config.epochs, learning_rate=config.learning_rate,
            per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=64,
            weight_decay=config.weight_decay, warmup_steps=int(config.warmup_ratio * steps_per_epoch * config.epochs),
            eval_strategy=strategy, save_strategy=strategy, save_total_limit=1, save_only_model=True,
            load_best_model_at_end=has_val, metric_for_best_model="macro_f1" if has_val else None,
            greater_is_better=True if has_val else None,
            logging_strategy="epoch", report_to="none", seed=config.seed, data_seed=config.seed,
            disable_tqdm=not progress, dataloader_num_workers=0, use_cpu=not torch.cuda.is_available(),
            label_names=["labels"],
        )
        callbacks = [EarlyStoppingCallback(early_stopping_patience=config.patience)] if has_val else []
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds,
                          data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics,
                          callbacks=callbacks)
        if not progress:  # without bars the Trainer prints every log dict: keep reports clean
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        trainer.train()
        model = trainer.model
    seconds = time.perf_counter() - t0
    train_loss = {float(h["epoch"]): float(h["loss"]) for h in trainer.state.log_history if "loss" in h}
    history = [{**{k: float(v) for k, v in h.items() if isinstance(v, (int, float))},
                "train_loss": train_loss.get(float(h["epoch"]), np.nan)}
               for h in trainer.state.log_history if "eval_macro_f1" in h]
    best = max(history, key=lambda h: h["eval_macro_f1"]) if history else {}
    if has_val:
        val_logits = predict_logits(model, tokenizer, val_texts, config.max_length, prefix=prefix)
        y_hat = val_logits.argmax(1)
        val_f1, val_acc = _macro_f1(y_va, y_hat, len(labels)), float(accuracy_score(y_va, y_hat))
    else:
        val_logits, val_f1, val_acc = np.zeros((0, len(labels)), dtype="float32"), float("nan"), float("nan")
    result = FineTuneResult(
        config=config, labels=labels, model=model, tokenizer=tokenizer, val_logits=val_logits,
        val_macro_f1=val_f1, val_accuracy=val_acc, best_epoch=float(best.get("epoch", config.epochs)),
        epochs_run=float(trainer.state.epoch or 0), history=history, train_seconds=round(seconds, 2),
        n_train=len(train_ds))
    if test_texts is not None:
        result.test_logits = predict_logits(model, tokenizer, test_texts, config.max_length, prefix=prefix)
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
                           test_texts: Sequence[str] | None = None, progress: bool = True,
                           head_init: tuple[np.ndarray, np.ndarray] | None = None,
                           encoder: tuple[Any, Any] | None = None) -> SearchResult:
    """Optuna (TPE, seeded) over learning rate, batch size and epochs; objective: validation macro-F1.

    Each trial fine-tunes a fresh copy of the pretrained model with early stopping; the best trial's
    model is kept (not retrained) and, when `test_texts` is given, scored on them once at the end.
    `head_init` and `encoder` are passed to every trial's `fine_tune`.
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
        res = fine_tune(train_texts, train_y, val_texts, val_y, labels, cfg, progress=progress, head_init=head_init,
                        encoder=encoder)
        rows.append({"model": cfg.model_name, "trial": trial.number, "learning_rate": cfg.learning_rate,
                     "batch_size": cfg.batch_size, "epochs": cfg.epochs, "epochs_run": res.epochs_run,
                     "best_epoch": res.best_epoch,
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
    """At most `n` (text, label) pairs, stratified, every class kept (see `lib.core.sampling`)."""
    from lib.core.sampling import stratified_indices

    texts, y = list(texts), list(y)
    keep = stratified_indices(y, n, seed)
    return [texts[i] for i in keep], [y[i] for i in keep]


def measure_step_seconds(model_name: str, texts: Sequence[str], batch_size: int, max_length: int, steps: int = 5,
                         encoder: tuple[Any, Any] | None = None, freeze_embeddings: bool = True) -> float:
    """Seconds per training step (forward + backward + AdamW) on batches of these texts, after one warm-up step.

    The fastest of `steps` steps, not the mean: a step slowed by another process on a shared machine says
    nothing about the training that follows (measured here: 0.5 s idle, 15 s beside a test run).
    """
    import torch

    tok, model = build_classifier(model_name, 2, freeze_embeddings=freeze_embeddings, encoder=encoder)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    prefix = text_prefix(model_name)
    rng = np.random.default_rng(0)
    times = []
    for i in range(steps + 1):
        batch = [prefix + str(texts[j]) for j in rng.choice(len(texts), size=min(batch_size, len(texts)))]
        enc = tok(batch, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        t0 = time.perf_counter()
        out = model(**enc, labels=torch.zeros(len(batch), dtype=torch.long))
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        if i:  # the first step pays for allocation and thread start-up
            times.append(time.perf_counter() - t0)
    del model, opt
    gc.collect()
    return float(np.min(times))


@dataclass
class BudgetPlan:
    """How many training rows a time budget pays for, and why."""

    budget_s: float
    step_s: float
    batch_size: int
    fits: int
    epochs: int
    rows_available: int
    rows: int

    def explain(self) -> str:
        per_row = self.step_s / self.batch_size
        capped = "all of them" if self.rows >= self.rows_available else f"a stratified {self.rows}"
        return (f"{self.step_s:.2f} s per step of {self.batch_size} measured here → {per_row * 1000:.0f} ms per row "
                f"and epoch; {self.fits} fits × up to {self.epochs} epochs in {self.budget_s:.0f} s pay for "
                f"{int(self.budget_s / (self.fits * self.epochs * per_row))} rows: {capped} of the "
                f"{self.rows_available} training rows are used.")


def rows_for_budget(budget_s: float, step_s: float, batch_size: int, fits: int, epochs: int, rows_available: int,
                    min_rows: int = 0) -> BudgetPlan:
    """The number of fine-tuning rows that `fits` trainings of `epochs` epochs fit in `budget_s` seconds.

    Why a budget and not a row count: the same profile then uses every row of a small set and as many as
    the machine affords of a large one, and the report can say which.
    """
    if budget_s <= 0 or step_s <= 0 or fits < 1 or epochs < 1:
        raise ValueError("budget, step time, fits and epochs must be positive")
    affordable = int(budget_s / (fits * epochs * step_s / batch_size))
    rows = int(min(rows_available, max(affordable, min_rows)))
    return BudgetPlan(float(budget_s), float(step_s), int(batch_size), int(fits), int(epochs), int(rows_available),
                      rows)


@dataclass
class CrossFit:
    """Out-of-fold logits of a fixed fine-tuning configuration, and the model refitted on every row."""

    oof_logits: np.ndarray
    final: FineTuneResult
    fold_seconds: list[float]


def cross_fit(texts: Sequence[str], y: Sequence[str], labels: Sequence[str], config: FineTuneConfig,
              folds: Sequence[tuple[np.ndarray, np.ndarray]], test_texts: Sequence[str] | None = None,
              head_init: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
              encoder: tuple[Any, Any] | None = None, progress: bool = True,
              train_rows: np.ndarray | None = None) -> CrossFit:
    """Fine-tune on each fold's training part (fixed epochs, no early stopping) and predict its held-out part.

    The configuration (learning rate, batch size, epochs) must have been chosen before, on other rows:
    the out-of-fold logits are then honest scores on which temperature, ensemble weight and reject
    threshold can be chosen. The final model is fitted the same way on all rows (as scikit-learn's
    `CalibratedClassifierCV(ensemble=False)` does) and scores `test_texts`.

    Args:
        folds: (train rows, held-out rows) index pairs over `texts`.
        head_init: rows → (W, b) of a linear probe fitted on those rows (LP-FT); None: random heads.
        train_rows: fine-tune only on these rows (a time budget's subsample); every held-out row is still
            scored, so the out-of-fold logits cover all rows, like the other models' do.
    """
    from tqdm.auto import tqdm

    texts, y = list(texts), list(y)
    allowed = np.ones(len(texts), bool) if train_rows is None else np.isin(np.arange(len(texts)), train_rows)
    oof = np.zeros((len(texts), len(labels)), dtype="float32")
    seconds = []
    for tr, va in tqdm(list(folds), desc=f"cross-fit {config.model_name}", disable=not progress):
        tr = np.asarray(tr)[allowed[np.asarray(tr)]]
        res = fine_tune([texts[i] for i in tr], [y[i] for i in tr], None, None, labels, config,
                        test_texts=[texts[i] for i in va], progress=False,
                        head_init=head_init(np.asarray(tr)) if head_init else None, encoder=encoder)
        oof[va] = res.test_logits
        seconds.append(res.train_seconds)
        del res
        gc.collect()
    rows = np.flatnonzero(allowed)
    final = fine_tune([texts[i] for i in rows], [y[i] for i in rows], None, None, labels, config,
                      test_texts=test_texts, progress=False, head_init=head_init(rows) if head_init else None,
                      encoder=encoder)
    return CrossFit(oof, final, seconds)


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


def plot_history(history: Sequence[dict[str, float]], title: str = "Training history", ax: Any = None) -> Any:
    """Validation macro-F1, validation loss and training loss per epoch of one fine-tuning run."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    h = pd.DataFrame(list(history))
    if len(h):
        ax.plot(h["epoch"], h["eval_macro_f1"], "o-", label="validation macro-F1")
        ax.plot(h["epoch"], h["eval_loss"], "s--", label="validation loss")
        ax.plot(h["epoch"], h["train_loss"], "^:", label="training loss")
        ax.legend()
    ax.set(xlabel="epoch", ylabel="macro-F1 (0–1) / cross-entropy", title=title)
    return ax
