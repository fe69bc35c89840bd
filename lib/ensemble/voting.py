"""Soft voting over classifiers' probabilities: weights searched on validation, sharpening p^k / Σ p^k
(k chosen on validation) for members whose probabilities are too soft, and the automation rate."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from lib.evaluation.calibration import nll, sharpen

DEFAULT_KS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def _stack(probas: Sequence[np.ndarray]) -> np.ndarray:
    arrs = [np.asarray(p, dtype=np.float64) for p in probas]
    if not arrs:
        raise ValueError("no member probabilities given")
    shapes = {a.shape for a in arrs}
    if len(shapes) != 1 or arrs[0].ndim != 2:
        raise ValueError(f"member probabilities must be 2-D arrays of one shape, got {sorted(shapes)}")
    return np.stack(arrs)


def weighted_vote(probas: Sequence[np.ndarray], weights: Sequence[float], ks: Sequence[float] | None = None
                  ) -> np.ndarray:
    """Σ_m w_m · sharpen(P_m, k_m) / Σ w_m — each row sums to 1.

    Args:
        probas: one (n, c) probability array per member, same class order.
        weights: non-negative member weights (not all zero).
        ks: per-member sharpening exponents (1 = unchanged); None means all 1.
    """
    P = _stack(probas)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(P),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"need {len(P)} non-negative weights with a positive sum, got {list(w)}")
    ks = [1.0] * len(P) if ks is None else list(ks)
    if len(ks) != len(P):
        raise ValueError(f"need {len(P)} sharpening exponents, got {len(ks)}")
    out = sum(wi * (sharpen(p, k) if k != 1 else p) for wi, p, k in zip(w, P, ks))
    out = out / w.sum()
    return out / out.sum(1, keepdims=True)


def confidence_gap(proba: np.ndarray, y: np.ndarray) -> float:
    """Accuracy minus mean top-class confidence: > 0 means the probabilities are too soft (underconfident)."""
    p = np.asarray(proba)
    return float((p.argmax(1) == np.asarray(y)).mean() - p.max(1).mean())


def choose_k(proba: np.ndarray, y: np.ndarray, ks: Sequence[float] = DEFAULT_KS) -> tuple[float, pd.DataFrame]:
    """The sharpening exponent minimising validation NLL, with the table of (k, nll, mean confidence)."""
    rows = []
    for k in ks:
        q = sharpen(proba, k)
        rows.append({"k": float(k), "nll": nll(q, y), "mean_confidence": float(q.max(1).mean())})
    table = pd.DataFrame(rows)
    return float(table.loc[table["nll"].idxmin(), "k"]), table


def simplex_grid(n: int, step: float = 0.1) -> list[tuple[float, ...]]:
    """All weight vectors of `n` members on a grid of `step` that sum to 1."""
    m = int(round(1 / step))
    if not np.isclose(m * step, 1.0):
        raise ValueError("step must divide 1 (e.g. 0.05, 0.1, 0.25)")
    return [tuple(c / m for c in combo) for combo in itertools.product(range(m + 1), repeat=n) if sum(combo) == m]


@dataclass
class SoftVote:
    """A fitted soft vote: member names, weights, sharpening exponents and the search table."""

    members: list[str]
    weights: list[float]
    ks: list[float]
    val_weighted_f1: float = float("nan")
    val_nll: float = float("nan")
    search: pd.DataFrame = field(default_factory=pd.DataFrame)
    k_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def predict_proba(self, probas: Mapping[str, np.ndarray]) -> np.ndarray:
        """Vote on a {member name: (n, c) probabilities} mapping."""
        missing = [m for m in self.members if m not in probas]
        if missing:
            raise KeyError(f"probabilities missing for members {missing}")
        return weighted_vote([probas[m] for m in self.members], self.weights, self.ks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description (for the model folder and the metrics file)."""
        return {"members": self.members, "weights": self.weights, "ks": self.ks,
                "val_weighted_f1": self.val_weighted_f1, "val_nll": self.val_nll}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SoftVote":
        return cls(list(d["members"]), [float(w) for w in d["weights"]], [float(k) for k in d["ks"]],
                   float(d.get("val_weighted_f1", "nan")), float(d.get("val_nll", "nan")))


OBJECTIVES = ("nll", "weighted_f1")


def fit_soft_vote(val_probas: Mapping[str, np.ndarray], y_val: np.ndarray, step: float = 0.1,
                  ks: Sequence[float] = DEFAULT_KS, sharpen_only_soft: bool = True, objective: str = "nll") -> SoftVote:
    """Choose sharpening exponents, then weights, on validation.

    1. Sharpening: for each member whose probabilities are too soft (accuracy above mean confidence,
       `confidence_gap` > 0), k minimises its validation NLL; other members keep k = 1
       (all members get a k when `sharpen_only_soft` is False).
    2. Weights: every point of the simplex grid. `objective="nll"` (default) keeps the lowest validation
       NLL of the vote (ties: higher weighted F1): a smooth, proper score that on a few hundred validation
       items spreads weight instead of jumping to whichever member got a few more items right;
       `objective="weighted_f1"` keeps the best validation weighted F1 (ties: lower NLL).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    names = list(val_probas)
    y_val = np.asarray(y_val)
    chosen_k, k_tables = [], {}
    for name in names:
        if sharpen_only_soft and confidence_gap(val_probas[name], y_val) <= 0:
            chosen_k.append(1.0)
            continue
        k, table = choose_k(val_probas[name], y_val, ks)
        chosen_k.append(k)
        k_tables[name] = table
    sharpened = [sharpen(val_probas[n], k) if k != 1 else np.asarray(val_probas[n], dtype=np.float64)
                 for n, k in zip(names, chosen_k)]
    rows = []
    for w in simplex_grid(len(names), step):
        p = weighted_vote(sharpened, w)
        rows.append({**{f"w_{n}": wi for n, wi in zip(names, w)},
                     "val_weighted_f1": float(f1_score(y_val, p.argmax(1), average="weighted", zero_division=0)),
                     "val_nll": nll(p, y_val)})
    order = ["val_nll", "val_weighted_f1"] if objective == "nll" else ["val_weighted_f1", "val_nll"]
    search = pd.DataFrame(rows).sort_values(order, ascending=[objective == "nll", objective != "nll"])
    search = search.reset_index(drop=True)
    best = search.iloc[0]
    return SoftVote(names, [float(best[f"w_{n}"]) for n in names], chosen_k, float(best["val_weighted_f1"]),
                    float(best["val_nll"]), search, k_tables)


def choose_best_member(probas: Mapping[str, np.ndarray], y: np.ndarray) -> str:
    """The member with the highest weighted F1 on these rows (validation or out-of-fold; ties: lower NLL).

    This is the vote's bar: "does the vote beat its best member" only means something when the best member
    is chosen, like the vote's weights, on rows other than the ones both are scored on.
    """
    y = np.asarray(y)
    if not probas:
        raise ValueError("no member probabilities given")
    ranked = sorted(probas, key=lambda m: (-f1_score(y, np.asarray(probas[m]).argmax(1), average="weighted",
                                                     zero_division=0), nll(probas[m], y), m))
    return ranked[0]


def automation_rate(proba: np.ndarray, y: np.ndarray | None = None, threshold: float = 0.8) -> dict[str, float]:
    """Share of items whose top probability ≥ threshold (handled without a human), and the accuracy on them."""
    p = np.asarray(proba)
    auto = p.max(1) >= threshold
    out = {"threshold": float(threshold), "automation_rate": float(auto.mean()) if len(p) else float("nan"),
           "n_automated": int(auto.sum())}
    if y is not None:
        y = np.asarray(y)
        out["accuracy_automated"] = float((p[auto].argmax(1) == y[auto]).mean()) if auto.any() else float("nan")
        out["accuracy_all"] = float((p.argmax(1) == y).mean()) if len(p) else float("nan")
    return out
