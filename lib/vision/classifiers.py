"""Classifiers on backbone features: the classic ML benchmark and a small torch MLP with a grid."""
from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from lib.evaluation.metrics import classification_scores

BENCHMARK_MODELS = ("logreg", "random_forest", "xgboost", "lightgbm")


def make_feature_model(name: str, seed: int, n_jobs: int = 1, fast: bool = False, pca_dim: int = 128) -> Any:
    """A fresh sklearn-style classifier for pooled image features.

    Args:
        name: one of `BENCHMARK_MODELS`.
        n_jobs: threads; 1 by default because OpenMP spin-waiting makes 2 threads 3x slower than 1 on a
            loaded 2-core machine (measured: LightGBM 16 s → 90 s).
        fast: fewer trees/iterations (smoke profile).
        pca_dim: boosted trees work on the first `pca_dim` principal components (1,280 dense dimensions
            make histogram building ~10x slower for no gain); 0 keeps all features.
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def reduce() -> list[Any]:
        return [PCA(n_components=pca_dim, random_state=seed)] if pca_dim else []

    n_trees = 40 if fast else 300
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000, class_weight="balanced",
                                                                  random_state=seed))
    if name == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=n_trees, class_weight="balanced", n_jobs=n_jobs, random_state=seed)
    if name == "xgboost":
        from xgboost import XGBClassifier

        return make_pipeline(*reduce(), XGBClassifier(
            n_estimators=30 if fast else 200, max_depth=4, learning_rate=0.1, subsample=0.8, colsample_bytree=0.5,
            max_bin=64, tree_method="hist", n_jobs=n_jobs, random_state=seed))
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        return make_pipeline(*reduce(), LGBMClassifier(
            n_estimators=30 if fast else 200, learning_rate=0.05, num_leaves=15, colsample_bytree=0.5, max_bin=63,
            min_child_samples=5, class_weight="balanced", n_jobs=n_jobs, random_state=seed, verbose=-1))
    raise ValueError(f"unknown feature model {name!r}; choose from {BENCHMARK_MODELS}")


@dataclass
class BenchmarkResult:
    """The table (one row per model and split) and the fitted models."""

    table: pd.DataFrame
    models: dict[str, Any] = field(default_factory=dict)


def benchmark_feature_models(X_train: np.ndarray, y_train: np.ndarray, evals: dict[str, tuple[np.ndarray, np.ndarray]],
                             names: Sequence[str] = BENCHMARK_MODELS, seed: int = 42, fast: bool = False,
                             progress: bool = True) -> BenchmarkResult:
    """Fit each model on the training features; score it on every (X, y) in `evals` (e.g. val and test).

    Returns a long table: model, split, accuracy, weighted_f1, macro_f1, fit_s, predict_s.
    """
    from tqdm.auto import tqdm

    rows, models = [], {}
    for name in tqdm(list(names), desc="feature models", disable=not progress):
        # PCA cannot keep more components than training rows
        model = make_feature_model(name, seed, fast=fast, pca_dim=min(128, len(X_train) - 1, X_train.shape[1]))
        t0 = time.perf_counter()
        model.fit(X_train, y_train)
        fit_s = time.perf_counter() - t0
        models[name] = model
        for split, (X, y) in evals.items():
            t1 = time.perf_counter()
            pred = model.predict(X)
            rows.append({"model": name, "split": split, **classification_scores(y, pred), "fit_s": fit_s,
                         "predict_s": time.perf_counter() - t1})
    return BenchmarkResult(pd.DataFrame(rows), models)


# --------------------------------------------------------------------------- torch MLP

ACTIVATIONS = ("relu", "gelu", "tanh")
OPTIMISERS = ("adam", "adamw", "sgd")


@dataclass
class MLPConfig:
    """Hyper-parameters of the feature MLP."""

    hidden: int = 256
    activation: str = "relu"
    dropout: float = 0.3
    optimiser: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 60
    batch_size: int = 64
    patience: int = 8


class FeatureMLP:
    """Standardise → Linear → activation → dropout → Linear; trained with class weights and early stopping
    on a validation set. sklearn-like: `fit`, `predict_proba`, `predict`, `classes_`."""

    def __init__(self, config: MLPConfig | None = None, seed: int = 42):
        self.config = config or MLPConfig()
        self.seed = seed
        self.history: list[dict[str, float]] = []
        self.net: Any = None

    def _build(self, n_in: int, n_out: int) -> Any:
        from torch import nn

        c = self.config
        if c.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}")
        act = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[c.activation]()
        return nn.Sequential(nn.Linear(n_in, c.hidden), act, nn.Dropout(c.dropout), nn.Linear(c.hidden, n_out))

    def _optimiser(self, params: Any) -> Any:
        import torch

        c = self.config
        if c.optimiser == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        if c.optimiser == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=max(c.weight_decay, 1e-2))
        if c.optimiser == "sgd":
            return torch.optim.SGD(params, lr=c.lr * 10, momentum=0.9, weight_decay=c.weight_decay)
        raise ValueError(f"optimiser must be one of {OPTIMISERS}")

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
            n_classes: int | None = None) -> "FeatureMLP":
        """Train; with a validation set, keep the epoch of lowest validation loss (early stopping)."""
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        self.n_classes = int(n_classes or y.max() + 1)
        self.classes_ = np.arange(self.n_classes)
        self.mean_ = X.mean(0)
        self.std_ = X.std(0) + 1e-6
        self.net = self._build(X.shape[1], self.n_classes)
        counts = np.bincount(y, minlength=self.n_classes).astype(np.float32)
        weights = torch.tensor(np.where(counts > 0, len(y) / (self.n_classes * np.maximum(counts, 1)), 0.0),
                               dtype=torch.float32)
        loss_fn = nn.CrossEntropyLoss(weight=weights)
        opt = self._optimiser(self.net.parameters())
        Xt, yt = torch.from_numpy((X - self.mean_) / self.std_), torch.from_numpy(y)
        has_val = X_val is not None and y_val is not None and len(y_val) > 0
        if has_val:
            Xv = torch.from_numpy((np.asarray(X_val, dtype=np.float32) - self.mean_) / self.std_)
            yv = torch.from_numpy(np.asarray(y_val, dtype=np.int64))
        gen = torch.Generator().manual_seed(self.seed)
        best, best_state, waited = np.inf, None, 0
        self.history = []
        for epoch in range(self.config.epochs):
            self.net.train()
            perm = torch.randperm(len(Xt), generator=gen)
            total = 0.0
            for i in range(0, len(perm), self.config.batch_size):
                b = perm[i:i + self.config.batch_size]
                opt.zero_grad()
                loss = loss_fn(self.net(Xt[b]), yt[b])
                loss.backward()
                opt.step()
                total += loss.item() * len(b)
            row = {"epoch": epoch + 1, "train_loss": total / len(Xt)}
            if has_val:
                self.net.eval()
                with torch.no_grad():
                    logits = self.net(Xv)
                    row["val_loss"] = float(nn.functional.cross_entropy(logits, yv))
                    row["val_accuracy"] = float((logits.argmax(1) == yv).float().mean())
                if row["val_loss"] < best - 1e-4:
                    best, best_state, waited = row["val_loss"], copy.deepcopy(self.net.state_dict()), 0
                else:
                    waited += 1
            self.history.append(row)
            if has_val and waited >= self.config.patience:
                break
        if best_state is not None:
            self.net.load_state_dict(best_state)
        self.net.eval()
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax of the logits)."""
        import torch

        if self.net is None:
            raise RuntimeError("FeatureMLP is not fitted")
        Xt = torch.from_numpy((np.asarray(X, dtype=np.float32) - self.mean_) / self.std_)
        with torch.no_grad():
            return torch.softmax(self.net.eval()(Xt), dim=1).numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(1)

    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the fitted MLP (for torch.save)."""
        return {"config": self.config.__dict__, "seed": self.seed, "n_classes": self.n_classes,
                "n_in": int(self.mean_.shape[0]), "mean": self.mean_, "std": self.std_,
                "state_dict": self.net.state_dict()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "FeatureMLP":
        """Rebuild a fitted MLP from `state()`."""
        m = cls(MLPConfig(**state["config"]), seed=state["seed"])
        m.n_classes = state["n_classes"]
        m.classes_ = np.arange(m.n_classes)
        m.mean_, m.std_ = np.asarray(state["mean"]), np.asarray(state["std"])
        m.net = m._build(state["n_in"], m.n_classes)
        m.net.load_state_dict(state["state_dict"])
        m.net.eval()
        return m


def mlp_grid_search(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                    grid: dict[str, Sequence[Any]], base: MLPConfig | None = None, seed: int = 42,
                    n_classes: int | None = None, progress: bool = True) -> tuple[pd.DataFrame, FeatureMLP]:
    """Fit one MLP per combination of `grid` (keys are MLPConfig fields); pick the best validation weighted F1.

    Returns (table sorted by validation weighted F1, best fitted model).
    """
    from tqdm.auto import tqdm

    base = base or MLPConfig()
    keys = list(grid)
    unknown = set(keys) - set(base.__dict__)
    if unknown:
        raise ValueError(f"unknown MLP grid keys {sorted(unknown)}; valid: {sorted(base.__dict__)}")
    rows, best, best_f1 = [], None, -1.0
    combos = list(itertools.product(*(grid[k] for k in keys)))
    for values in tqdm(combos, desc="MLP grid", disable=not progress):
        cfg = MLPConfig(**{**base.__dict__, **dict(zip(keys, values))})
        t0 = time.perf_counter()
        model = FeatureMLP(cfg, seed=seed).fit(X_train, y_train, X_val, y_val, n_classes=n_classes)
        fit_s = time.perf_counter() - t0
        scores = classification_scores(y_val, model.predict(X_val))
        rows.append({**dict(zip(keys, values)), **{f"val_{k}": v for k, v in scores.items()},
                     "epochs_run": len(model.history), "fit_s": fit_s})
        if scores["weighted_f1"] > best_f1:
            best, best_f1 = model, scores["weighted_f1"]
    table = pd.DataFrame(rows).sort_values("val_weighted_f1", ascending=False).reset_index(drop=True)
    return table, best  # type: ignore[return-value]
