"""A transformer token classifier for person names (PER, with LOC/ORG beside it), fine-tuned on real French prose.

Why: spaCy's French pipelines find 0.56 (sm) to 0.62 (md) of the hand-annotated names of a novel they were not
trained on (`pii_fr_dev`, Notre-Dame de Paris); a multilingual encoder fine-tuned for the task on another novel
is the route the issue names as the one that generalises. The encoder is `multilingual-e5-small` from the
registry (the only multilingual encoder offline), its word embeddings frozen (96M of its 118M parameters: CPU
time, and the vocabulary keeps what it learned from ~100 languages). LOC and ORG are learnt too so that a place
or an institution is a class of its own rather than a near-miss person.

Training uses transformers' Trainer, bounded by steps and by a time budget (`TimeBudgetCallback`), evaluated
on a sample of the validation novel by the anonymiser's own span metric (`fully_masked` recall of persons);
the best checkpoint is kept. Inference windows long texts (e-mails) with a stride, so no token is left
untagged, and widens each predicted span to whole words: masking "Artagnan" in "d'Artagnan" is not enough.
The person probability threshold is chosen on the validation novel (`choose_threshold`), never on test.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

LABELS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
ENTITY_OF = {"PER": "PER", "LOC": "LOC", "ORG": "ORG"}  # corpus labels kept (MISC is left as O)
_WORD_CHAR = re.compile(r"[\w'’-]")
# Particles inside a name: the tagger often scores them low, and a name cut there is not fully masked.
_PARTICLE_GAP = re.compile(r"\s+(?:de|du|des|de la|la|le|van|von|der|di|da|del|y)\s+|\s+[dlDL]['’]\s*")


@dataclass
class TaggerConfig:
    """Hyper-parameters of one fine-tuning run of the name tagger."""

    model_name: str = "multilingual-e5-small"
    learning_rate: float = 1e-4
    batch_size: int = 16
    max_steps: int = 1500
    time_budget_s: float = 1200.0  # training stops at the first evaluation past this (CPU minutes are scarce)
    max_length: int = 128
    stride: int = 32  # tokens shared by consecutive windows of a long text
    eval_steps: int = 250
    n_eval: int = 600  # validation sentences scored at each evaluation (the full novel is scored at the end)
    negative_share: float = 0.35  # share of sentences without any entity kept for training
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    freeze_embeddings: bool = True
    init_from: str = ""  # a saved tagger to continue from (empty: the registry's encoder with a new head)
    # Case augmentation: people type names in lower case in mail and chat ("j'ai vu marie-claire hier"), which
    # novels never do; these shares of the training sentences get their names, or the whole sentence, lowered.
    lowercase_names_share: float = 0.0
    lowercase_all_share: float = 0.0
    min_precision: float = 0.85  # thresholds (and checkpoints) are compared at this precision or above
    seed: int = 42


@dataclass
class TaggerResult:
    """A trained tagger and how it got there."""

    config: TaggerConfig
    history: list[dict[str, float]] = field(default_factory=list)
    best_step: int = 0
    train_seconds: float = 0.0
    n_train_sentences: int = 0
    threshold: float = 0.5


# --------------------------------------------------------------------------- encoding


def _token_starts(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Offsets without the leading space a SentencePiece token carries ("▁d" covers " d")."""
    out = []
    for s, e in offsets:
        while s < e and text[s].isspace():
            s += 1
        out.append((s, e))
    return out


def token_labels(text: str, offsets: Sequence[tuple[int, int]], entities: Sequence[tuple[int, int, str]]
                 ) -> list[int]:
    """BIO label ids for each token (special tokens and padding get -100, which the loss ignores)."""
    index = {name: i for i, name in enumerate(LABELS)}
    labels, previous = [], None
    for s, e in _token_starts(text, offsets):
        if e <= s:
            labels.append(-100)
            previous = None
            continue
        hit = next(((es, ee, k) for es, ee, k in entities if s < ee and e > es), None)
        if hit is None:
            labels.append(index["O"])
            previous = None
            continue
        tag = "I" if previous == hit else "B"
        labels.append(index[f"{tag}-{hit[2]}"])
        previous = hit
    return labels


def sentence_entities(persons: Sequence[tuple[int, int]], other: Sequence[tuple[int, int, str]]
                      ) -> list[tuple[int, int, str]]:
    """Entities to learn in one corpus row: its persons (PER) and its LOC/ORG spans."""
    ents = [(int(s), int(e), "PER") for s, e in persons]
    ents += [(int(s), int(e), ENTITY_OF[k]) for s, e, k in other if k in ENTITY_OF]
    return sorted(ents)


class _Windows:
    """Token windows of texts (a torch Dataset): input_ids, attention_mask and, when given, labels."""

    def __init__(self, tokenizer: Any, texts: Sequence[str], entities: Sequence[Sequence[tuple[int, int, str]]] | None,
                 max_length: int, stride: int):
        enc = tokenizer(list(texts), truncation=True, max_length=max_length, stride=stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True)
        self.sample = list(enc["overflow_to_sample_mapping"])
        self.input_ids = enc["input_ids"]
        self.offsets = [list(map(tuple, o)) for o in enc["offset_mapping"]]
        self.labels = None
        if entities is not None:
            self.labels = [token_labels(texts[self.sample[i]], self.offsets[i], entities[self.sample[i]])
                           for i in range(len(self.input_ids))]

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {"input_ids": self.input_ids[i], "attention_mask": [1] * len(self.input_ids[i])}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


# --------------------------------------------------------------------------- model


def build_tagger(model_name: str = "multilingual-e5-small", freeze_embeddings: bool = True,
                 init_from: str | Path | None = None) -> tuple[Any, Any]:
    """(tokenizer, AutoModelForTokenClassification): a new head over `LABELS` on the registry's weights, or, with
    `init_from`, a saved tagger to train further (a second stage with its own learning-rate schedule)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from lib.core.registry import load_tokenizer, text_model_path

    if init_from is not None:
        tokenizer = AutoTokenizer.from_pretrained(init_from)
        model = AutoModelForTokenClassification.from_pretrained(init_from)
    else:
        tokenizer = load_tokenizer(model_name)
        model = AutoModelForTokenClassification.from_pretrained(
            text_model_path(model_name), num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
            label2id={k: i for i, k in enumerate(LABELS)})
    if freeze_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    return tokenizer, model


def person_probabilities(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128, stride: int = 32,
                         batch_size: int = 32, progress: bool = False) -> list[list[tuple[int, int, float]]]:
    """For each text, its tokens as (start, end, P(person)); a token seen in two windows keeps the larger value."""
    import torch
    from tqdm.auto import tqdm

    texts = [str(t) for t in texts]
    windows = _Windows(tokenizer, texts, None, max_length, stride)
    person = [i for i, k in enumerate(LABELS) if k.endswith("-PER")]
    out: list[dict[tuple[int, int], float]] = [dict() for _ in texts]
    order = np.argsort([len(ids) for ids in windows.input_ids], kind="stable")  # little padding
    model.eval()
    with torch.inference_mode():
        for b in tqdm(range(0, len(order), batch_size), desc="name tagger", disable=not progress):
            idx = order[b:b + batch_size]
            width = max(len(windows.input_ids[i]) for i in idx)
            ids = torch.full((len(idx), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                n = len(windows.input_ids[i])
                ids[r, :n] = torch.tensor(windows.input_ids[i])
                mask[r, :n] = 1
            probs = torch.softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)
            p_person = probs[:, :, person].sum(-1).numpy()
            for r, i in enumerate(idx):
                text_i = windows.sample[i]
                for t, (s, e) in enumerate(_token_starts(texts[text_i], windows.offsets[i])):
                    if e > s:
                        key = (s, e)
                        out[text_i][key] = max(out[text_i].get(key, 0.0), float(p_person[r, t]))
    return [sorted((s, e, p) for (s, e), p in d.items()) for d in out]


def spans_from_probabilities(text: str, tokens: Sequence[tuple[int, int, float]], threshold: float
                             ) -> list[tuple[int, int]]:
    """Person spans: runs of tokens at or above `threshold`, joined across spaces and name particles ("de", "du",
    "l'"), widened to whole words and to an elided article before them ("d'Artagnan")."""
    spans: list[list[int]] = []
    for s, e, p in tokens:
        if p < threshold:
            continue
        if spans and not text[spans[-1][1]:s].strip():
            spans[-1][1] = e  # the next token of the same name (or the next name: masked as one anyway)
        else:
            spans.append([s, e])
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s > 0 and _WORD_CHAR.match(text[s - 1]) and text[s - 1] not in "'’":
            s -= 1
        while e < len(text) and _WORD_CHAR.match(text[e]) and text[e] not in "'’":
            e += 1
        if s >= 2 and text[s - 1] in "'’" and text[s - 2] in "dlDL" and (s == 2 or not text[s - 3].isalnum()):
            s -= 2  # "d'Autriche", "l'Hermite": the elided article belongs to the name
        gap = text[out[-1][1]:s] if out else None
        if out and (s <= out[-1][1] or not gap.strip() or _PARTICLE_GAP.fullmatch(gap)):
            out[-1] = (out[-1][0], max(e, out[-1][1]))  # "Jehan Frollo du Moulin", "Tristan l'Hermite"
        else:
            out.append((s, e))
    return out


def choose_threshold(gold: Sequence[Sequence[tuple[int, int, str]]], texts: Sequence[str],
                     probabilities: Sequence[Sequence[tuple[int, int, float]]], min_precision: float = 0.85,
                     grid: Sequence[float] = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))) -> tuple[float, Any]:
    """The threshold with the best fully-masked recall whose precision is ≥ `min_precision` (validation rows).

    Returns (threshold, table of every threshold tried). When no threshold reaches the precision, the most
    precise one is returned and the table says so.
    """
    import pandas as pd

    from lib.text.anonymise import PiiSpan, evaluate_detection

    rows = []
    for th in grid:
        pred = [[PiiSpan(s, e, "PERSON", "tagger") for s, e in spans_from_probabilities(t, p, th)]
                for t, p in zip(texts, probabilities)]
        r = evaluate_detection(gold, pred, ["PERSON"]).iloc[0]
        rows.append({"threshold": float(th), "precision": float(r["precision"]), "recall": float(r["recall"]),
                     "fully_masked": float(r["fully_masked"])})
    table = pd.DataFrame(rows)
    ok = table[table["precision"] >= min_precision]
    best = ok.sort_values(["fully_masked", "threshold"], ascending=[False, False]).iloc[0] if len(ok) else \
        table.sort_values("precision", ascending=False).iloc[0]
    return float(best["threshold"]), table


# --------------------------------------------------------------------------- training


def lower_case_variant(text: str, entities: Sequence[tuple[int, int, str]], rng: np.random.Generator,
                       names_share: float, all_share: float) -> str:
    """The sentence with its person names (share `names_share`) or all of it (share `all_share`) in lower case.

    Offsets stay valid: a text whose lower-case form changes length (a rare Unicode letter) is kept as it is.
    """
    draw = rng.random()
    if draw < all_share:
        lowered = text.lower()
    elif draw < all_share + names_share:
        lowered = text
        for s, e, kind in entities:
            if kind == "PER":
                lowered = lowered[:s] + lowered[s:e].lower() + lowered[e:]
    else:
        return text
    return lowered if len(lowered) == len(text) else text


def _time_budget_callback(budget_s: float) -> Any:
    from transformers import TrainerCallback

    class TimeBudgetCallback(TrainerCallback):
        """Stop training at the first step past the budget (an evaluation and a save follow)."""

        def __init__(self) -> None:
            self.t0 = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if time.perf_counter() - self.t0 > budget_s:
                control.should_training_stop = True
                control.should_evaluate = True
                control.should_save = True
            return control

    return TimeBudgetCallback()


def train_tagger(train_texts: Sequence[str], train_entities: Sequence[Sequence[tuple[int, int, str]]],
                 val_texts: Sequence[str], val_gold: Sequence[Sequence[tuple[int, int, str]]],
                 config: TaggerConfig | None = None, progress: bool = True) -> tuple[Any, Any, TaggerResult]:
    """Fine-tune the tagger; the checkpoint with the best validation fully-masked recall at precision ≥ the floor.

    Args:
        train_texts / train_entities: sentences and their (start, end, PER|LOC|ORG) spans.
        val_texts / val_gold: validation sentences and their person spans (start, end, "PERSON").
    Returns:
        (tokenizer, model, TaggerResult).
    """
    import tempfile

    import torch
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments, set_seed
    from transformers.utils import logging as hf_logging

    config = config or TaggerConfig()
    set_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    keep = [i for i, ents in enumerate(train_entities) if ents or rng.random() < config.negative_share]
    texts = [str(train_texts[i]) for i in keep]
    ents = [list(train_entities[i]) for i in keep]
    texts = [lower_case_variant(t, e, rng, config.lowercase_names_share, config.lowercase_all_share)
             for t, e in zip(texts, ents)]
    tokenizer, model = build_tagger(config.model_name, config.freeze_embeddings, config.init_from or None)
    train_ds = _Windows(tokenizer, texts, ents, config.max_length, config.stride)
    pick = rng.choice(len(val_texts), size=min(config.n_eval, len(val_texts)), replace=False)
    ev_texts = [str(val_texts[i]) for i in sorted(pick)]
    ev_gold = [list(val_gold[i]) for i in sorted(pick)]
    history: list[dict[str, float]] = []

    class _Evaluator(Trainer):
        """Evaluation = the anonymiser's span metric on validation sentences (not the token loss)."""

        def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
            # Checkpoints are compared at their own best threshold under the precision floor: the threshold is
            # chosen afterwards anyway, and a fixed 0.5 would favour an early, over-eager checkpoint.
            probs = person_probabilities(self.model, tokenizer, ev_texts, config.max_length, config.stride)
            th, table = choose_threshold(ev_gold, ev_texts, probs, config.min_precision)
            r = table.set_index("threshold").loc[th]
            metrics = {"eval_fully_masked": float(r["fully_masked"]), "eval_precision": float(r["precision"]),
                       "eval_recall": float(r["recall"]), "eval_threshold": th,
                       # what checkpoints are ranked by: no threshold of this one reaches the floor → 0
                       "eval_score": float(r["fully_masked"]) if r["precision"] >= config.min_precision else 0.0,
                       "step": float(self.state.global_step),
                       "elapsed_s": round(time.perf_counter() - t0, 1)}
            loss = [h["loss"] for h in self.state.log_history if "loss" in h]
            metrics["train_loss"] = float(loss[-1]) if loss else float("nan")
            history.append(metrics)
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            self.model.train()
            return metrics

    hf_logging.set_verbosity_error()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="name-tagger-") as tmp:
        args = TrainingArguments(
            output_dir=tmp, max_steps=config.max_steps, learning_rate=config.learning_rate,
            per_device_train_batch_size=config.batch_size, weight_decay=config.weight_decay,
            warmup_steps=int(config.warmup_ratio * config.max_steps), lr_scheduler_type="linear",
            eval_strategy="steps", eval_steps=config.eval_steps, save_strategy="steps", save_steps=config.eval_steps,
            save_total_limit=2, save_only_model=True, load_best_model_at_end=True,
            metric_for_best_model="score", greater_is_better=True, logging_steps=25,
            report_to="none", seed=config.seed, data_seed=config.seed, disable_tqdm=not progress,
            dataloader_num_workers=0, use_cpu=not torch.cuda.is_available(),
        )
        # eval_dataset only satisfies the Trainer's checks: `_Evaluator.evaluate` scores spans of `ev_texts`
        trainer = _Evaluator(model=model, args=args, train_dataset=train_ds,
                             eval_dataset=_Windows(tokenizer, ev_texts, None, config.max_length, config.stride),
                             data_collator=DataCollatorForTokenClassification(tokenizer),
                             callbacks=[_time_budget_callback(config.time_budget_s)])
        if not progress:
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        trainer.train()
        model = trainer.model
    best = max(history, key=lambda h: h["eval_score"]) if history else {"step": 0}
    result = TaggerResult(config=config, history=history, best_step=int(best["step"]),
                          train_seconds=round(time.perf_counter() - t0, 1), n_train_sentences=len(texts))
    return tokenizer, model.eval(), result


# --------------------------------------------------------------------------- saving


def save_tagger(folder: str | Path, tokenizer: Any, model: Any, result: TaggerResult,
                extra: dict[str, Any] | None = None) -> Path:
    """Write the model, tokenizer and `tagger.json` (config, threshold, history, data) to `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    meta = {"config": asdict(result.config), "threshold": result.threshold, "history": result.history,
            "best_step": result.best_step, "train_seconds": result.train_seconds,
            "n_train_sentences": result.n_train_sentences, "labels": list(LABELS), **(extra or {})}
    (folder / "tagger.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


class NameTagger:
    """A saved tagger, ready to find person spans: `NameTagger.load(folder).find(texts)`."""

    def __init__(self, tokenizer: Any, model: Any, threshold: float, max_length: int = 128, stride: int = 32,
                 meta: dict[str, Any] | None = None):
        self.tokenizer, self.model, self.threshold = tokenizer, model.eval(), float(threshold)
        self.max_length, self.stride, self.meta = max_length, stride, meta or {}

    @classmethod
    def load(cls, folder: str | Path) -> "NameTagger":
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        folder = Path(folder)
        meta_path = folder / "tagger.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{folder} holds no trained name tagger (tagger.json missing); train one with "
                                    "`python -m lib.text.train_tagger` (needs ../shared/data/pii_fr_dev)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        model = AutoModelForTokenClassification.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        cfg = meta.get("config", {})
        return cls(tokenizer, model, meta["threshold"], cfg.get("max_length", 128), cfg.get("stride", 32), meta)

    def probabilities(self, texts: Sequence[str], progress: bool = False) -> list[list[tuple[int, int, float]]]:
        return person_probabilities(self.model, self.tokenizer, texts, self.max_length, self.stride,
                                    progress=progress)

    def find(self, texts: Sequence[str], progress: bool = False) -> list[list[tuple[int, int]]]:
        """Person spans (start, end) of each text at the saved threshold."""
        texts = [str(t) for t in texts]
        return [spans_from_probabilities(t, p, self.threshold) for t, p in zip(texts, self.probabilities(texts, progress))]
