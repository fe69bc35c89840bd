"""The models notebook 03 compares, each as a `Candidate` holding out-of-fold scores over the training rows
(where every choice is made) and test scores (reported once).

- `tfidf_candidate`: TF-IDF word + char n-grams → LinearSVC or logistic regression (notebook 02's models);
- `probe_candidate`: a frozen encoder's mean-pooled embeddings → logistic regression, C chosen out of fold;
- `finetune_candidate`: HPO (optuna, early stopping) on a validation part of the training rows, then the
  chosen configuration cross-fitted over the same folds (out-of-fold logits) and refitted on every row.

All share the same folds, so their out-of-fold scores are comparable row for row and can be ensembled.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from lib.emails.baselines import decision_scores, make_baseline
from lib.evaluation.compare import Candidate
from lib.evaluation.crossfit import align_columns, out_of_fold

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


def tfidf_candidate(kind: str, texts: Sequence[str], y: np.ndarray, test_texts: Sequence[str], labels: Sequence[str],
                    folds: Folds, seed: int = 42, **baseline: Any) -> tuple[Candidate, Any]:
    """(candidate, the model refitted on every training row) for a TF-IDF baseline (`make_baseline(kind)`)."""
    X = np.asarray(list(texts), dtype=object)
    template = make_baseline(kind, seed=seed, **baseline)

    def fit_predict(tr: np.ndarray, va: np.ndarray) -> np.ndarray:
        m = clone(template).fit(X[tr], y[tr])
        return align_columns(decision_scores(m, X[va]), m.classes_, labels)

    oof = out_of_fold(fit_predict, folds, len(y), len(labels), desc=f"tfidf {kind}")
    final = clone(template).fit(X, y)
    test = align_columns(decision_scores(final, list(test_texts)), final.classes_, labels)
    return Candidate(f"tfidf + {kind}", oof, test, kind="TF-IDF"), final


@dataclass
class ProbeRun:
    """A frozen-encoder probe: its candidate, chosen C and the C grid's out-of-fold scores."""

    candidate: Candidate
    C: float
    grid: pd.DataFrame
    train_embeddings: np.ndarray = field(repr=False)  # the LP-FT heads of the fine-tuning are fitted on them
    seconds: dict[str, float] = field(default_factory=dict)


def probe_candidate(model_name: str, texts: Sequence[str], y: np.ndarray, test_texts: Sequence[str],
                    labels: Sequence[str], folds: Folds, C_grid: Sequence[float], max_length: int = 128,
                    encoder: tuple[Any, Any] | None = None, seed: int = 42, progress: bool = True) -> ProbeRun:
    """Embed every training and test row once, choose C out of fold, refit on all training rows."""
    import time

    from lib.core.registry import embed_texts, load_text_encoder
    from lib.text.probe import choose_C, fit_probe, probe_scores

    t0 = time.perf_counter()
    encoder = encoder or load_text_encoder(model_name)  # read the weights once for both embeddings
    E_tr = embed_texts(list(texts), model_name, encoder=encoder, max_length=max_length, progress=progress)
    E_te = embed_texts(list(test_texts), model_name, encoder=encoder, max_length=max_length, progress=progress)
    t1 = time.perf_counter()
    choice = choose_C(E_tr, y, len(labels), folds, C_grid, seed)
    test = probe_scores(fit_probe(E_tr, y, choice.C, seed), E_te, len(labels))
    cand = Candidate(f"frozen {model_name} + logreg", choice.oof_scores, test, kind=f"frozen {model_name}")
    return ProbeRun(cand, choice.C, choice.grid, E_tr,
                    {"embed_s": round(t1 - t0, 1), "fit_s": round(time.perf_counter() - t1, 1)})


@dataclass
class FineTuneRun:
    """A fine-tuned transformer: candidate, HPO trials, the budget plan and the final (all-rows) model."""

    candidate: Candidate
    config: Any
    trials: pd.DataFrame
    plan: Any
    n_rows: int
    final: Any = field(repr=False)
    history: list[dict[str, float]]
    seconds: dict[str, float] = field(default_factory=dict)


def finetune_candidate(model_name: str, texts: Sequence[str], y_labels: Sequence[str], test_texts: Sequence[str],
                       labels: Sequence[str], folds: Folds, budget_s: float, space: Any, base: Any, n_trials: int,
                       val_size: float = 0.15, probe: ProbeRun | None = None, seed: int = 42,
                       progress: bool = True) -> FineTuneRun:
    """HPO → cross-fit → refit for one encoder, within a time budget (`rows_for_budget`).

    Args:
        y_labels: training label strings.
        budget_s: seconds for all fits (HPO trials, one per fold, the final refit); it sets the number of rows.
        space / base: a `SearchSpace` and a `FineTuneConfig` (model_name is replaced by `model_name`).
        probe: the same encoder's frozen probe; its embeddings and C give every fit's starting head (LP-FT).
    """
    import time

    from lib.core.registry import load_text_encoder
    from lib.core.sampling import stratified_indices
    from lib.text.probe import probe_head
    from lib.text.transformer import (FineTuneConfig, cross_fit, label_indices, measure_step_seconds,
                                      rows_for_budget, search_hyperparameters, split_validation)

    t0 = time.perf_counter()
    texts, y_labels = list(texts), list(y_labels)
    y = label_indices(y_labels, labels)
    encoder = load_text_encoder(model_name)
    cfg0 = FineTuneConfig(**{**asdict(base), "model_name": model_name})
    step = measure_step_seconds(model_name, texts, max(space.batch_size), cfg0.max_length, encoder=encoder,
                                freeze_embeddings=cfg0.freeze_embeddings)
    fits = n_trials + len(folds) + 1
    plan = rows_for_budget(budget_s, step, max(space.batch_size), fits, max(space.epochs), len(texts),
                           min_rows=min(len(texts), 2 * len(labels)))
    rows = stratified_indices(y_labels, plan.rows, seed)
    # split row numbers, not texts: a data set may hold the same text twice
    tr_rows, tr_y, va_rows, va_y = split_validation(list(rows), [y_labels[i] for i in rows], val_size, seed)
    tr_rows = np.asarray(tr_rows)
    tr_x, va_x = [texts[i] for i in tr_rows], [texts[i] for i in va_rows]

    def head(rows_: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if probe is None:
            return None
        return probe_head(probe.train_embeddings[rows_], y[rows_], len(labels), probe.C, seed)

    t1 = time.perf_counter()
    search = search_hyperparameters(tr_x, tr_y, va_x, va_y, labels, cfg0, space, n_trials,
                                    timeout_s=budget_s * n_trials / fits, progress=False,
                                    head_init=head(tr_rows), encoder=encoder)
    best = search.best_config
    epochs = int(max(1, round(search.best.best_epoch)))  # the early-stopping epoch, chosen on validation
    chosen = FineTuneConfig(**{**asdict(best), "epochs": epochs})
    t2 = time.perf_counter()
    cf = cross_fit(texts, y_labels, labels, chosen, folds, test_texts, head_init=head if probe else None,
                   encoder=encoder, progress=progress, train_rows=rows)
    t3 = time.perf_counter()
    cand = Candidate(f"fine-tuned {model_name}", cf.oof_logits.astype(float), cf.final.test_logits.astype(float),
                     kind=f"fine-tuned {model_name} (LP-FT)" if probe else f"fine-tuned {model_name}")
    trials, history = search.trials, search.best.history
    del search
    return FineTuneRun(cand, chosen, trials, plan, len(rows), cf.final, history, {
        "measure_s": round(t1 - t0, 1), "hpo_s": round(t2 - t1, 1), "cross_fit_s": round(t3 - t2, 1)})
