"""Does the soft vote beat its best member beyond one small test split? Nested cross-validation.

On a test split of ~150 photos one image is worth ~0.007 weighted F1, and the vote's weights, sharpening
exponents and the "best member" it is compared with are chosen on ~150 validation photos. This module asks
the question on every listing with a photo:

* outer K-fold: each photo is predicted once, by members that never saw it;
* inside each outer training part, an inner K-fold gives every member's out-of-fold probabilities, on which
  the sharpening exponents, the vote weights (`fit_soft_vote`) **and the best member** are chosen;
* members are refitted on the whole outer training part and predict the outer fold; the vote combines them
  with that fold's weights, and the comparison is with the member the inner folds picked (not the one that
  happens to score best on the outer rows, which would be a choice made on the scored rows).

Members are `FitPredict` callables `(train rows, scored rows) → (n_scored, k) probabilities`, so a member can
be any classifier on any representation (backbone features, OCR text...). A member too slow to refit
(K × (K_inner + 1) times: the fine-tuned CNN) is left out and the report says so.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.ensemble.voting import choose_best_member, fit_soft_vote
from lib.evaluation.calibration import nll
from lib.evaluation.crossfit import align_columns, make_folds
from lib.evaluation.metrics import classification_scores
from lib.evaluation.paired import compare_paired

ProbaFitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (train rows, scored rows) → (n, k) probabilities


def proba_member(make_model: Callable[[], Any], X: Any, y: np.ndarray, k: int) -> ProbaFitPredict:
    """A member from a model factory and its inputs (an array, or a list such as texts): fit on some rows,
    return probabilities over all `k` classes on others (a class absent from the training rows gets 0)."""
    y = np.asarray(y, dtype=int)

    def take(rows: np.ndarray) -> Any:
        return X[rows] if isinstance(X, np.ndarray) else [X[i] for i in rows]

    def run(train: np.ndarray, ev: np.ndarray) -> np.ndarray:
        model = make_model().fit(take(train), y[train])
        p = align_columns(model.predict_proba(take(ev)), model.classes_, range(k), floor=0.0)
        return p / np.clip(p.sum(1, keepdims=True), 1e-12, None)

    return run


def error_correlation(probas: Mapping[str, np.ndarray], y: np.ndarray) -> pd.DataFrame:
    """Pearson correlation of the members' error indicators (1 = wrong) on the same rows.

    Members whose errors coincide (correlation near 1) give a vote nothing to correct; the original study's
    members were below 0.45. A member with no error (or only errors) has an undefined correlation (NaN).
    """
    y = np.asarray(y)
    names = list(probas)
    E = np.column_stack([(np.asarray(probas[n]).argmax(1) != y).astype(float) for n in names])
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.corrcoef(E, rowvar=False) if len(names) > 1 else np.ones((1, 1))
    C = np.atleast_2d(C)
    const = E.std(0) == 0
    C[const, :] = np.nan
    C[:, const] = np.nan
    np.fill_diagonal(C, 1.0)
    return pd.DataFrame(C, index=names, columns=names)


def mean_off_diagonal(corr: pd.DataFrame, exclude: Sequence[str] = ()) -> float:
    """The mean pairwise error correlation (the diagonal and the `exclude`d members left out)."""
    keep = [m for m in corr.index if m not in set(exclude)]
    C = corr.loc[keep, keep].to_numpy(dtype=float)
    mask = ~np.eye(len(C), dtype=bool)
    return float(np.nanmean(C[mask])) if mask.any() else float("nan")


def shared_errors(probas: Mapping[str, np.ndarray], y: np.ndarray, reference: str,
                  others: Sequence[str] | None = None) -> dict[str, int]:
    """What a vote could fix: of the `reference` member's errors, on how many is every other member (of
    `others`, default all) also wrong, and on how many is at least one other member right."""
    y = np.asarray(y)
    others = [m for m in (others if others is not None else probas) if m != reference]
    wrong = {m: np.asarray(probas[m]).argmax(1) != y for m in [reference, *others]}
    ref_wrong = wrong[reference]
    all_wrong = ref_wrong.copy()
    for m in others:
        all_wrong &= wrong[m]
    return {"reference_errors": int(ref_wrong.sum()), "all_others_also_wrong": int(all_wrong.sum()),
            "some_other_right": int((ref_wrong & ~all_wrong).sum())}


@dataclass
class NestedVoteCV:
    """Outer-fold probabilities of every member, of the vote and of the member the inner folds picked."""

    y: np.ndarray
    classes: list[str]
    p_members: dict[str, np.ndarray]
    p_vote: np.ndarray
    p_best: np.ndarray
    folds: pd.DataFrame  # fold, best member, weights and exponents, weighted F1 of each model on the fold
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def summary(self) -> pd.DataFrame:
        """Pooled scores over all rows: each member, the best member (inner choice per fold) and the vote."""
        rows = []
        models = {**self.p_members, "best member (inner choice)": self.p_best, "vote": self.p_vote}
        for name, p in models.items():
            rows.append({"model": name, "rows": len(self),
                         **classification_scores(self.y, p.argmax(1), labels=range(len(self.classes))),
                         "nll": nll(np.clip(p, 1e-12, 1), self.y)})
        return pd.DataFrame(rows)

    def comparison(self, n_boot: int = 1000, seed: int = 42) -> dict[str, float]:
        """Vote − best member (inner choice): weighted-F1 gain with its paired bootstrap interval, rows fixed/broken."""
        return compare_paired(self.y, self.p_best.argmax(1), self.p_vote.argmax(1), n_boot, seed)

    def error_correlation(self) -> pd.DataFrame:
        """The members' error correlation on the outer-fold predictions (every row scored by unseen models)."""
        return error_correlation(self.p_members, self.y)


def inner_oof(members: Mapping[str, ProbaFitPredict], rows: np.ndarray, y: np.ndarray, k: int, inner_folds: int,
              seed: int) -> dict[str, np.ndarray]:
    """Each member's out-of-fold probabilities on `rows` (an outer training part), from folds inside those rows
    only: what every choice of an outer fold is made on."""
    oof = {m: np.zeros((len(rows), k)) for m in members}
    for a, b in make_folds(y[rows], inner_folds, seed):
        for m in members:
            oof[m][b] = members[m](rows[a], rows[b])
    return oof


def nested_vote_cv(members: Mapping[str, ProbaFitPredict], y: Sequence[int], classes: Sequence[str],
                   folds: int = 5, inner_folds: int = 5, step: float = 0.1, objective: str = "nll",
                   seed: int = 42, progress: bool = True) -> NestedVoteCV:
    """Nested K-fold estimate of the soft vote and of its best member, every choice made on inner folds.

    Args:
        members: name → `(train rows, scored rows) → probabilities` (see `proba_member`).
        y: class indices into `classes` for every row.
        folds / inner_folds: outer and inner K (stratified).
        step / objective: the vote's weight grid and criterion (`fit_soft_vote`).

    Returns:
        A `NestedVoteCV`. Its `comparison()` is the vote against the member chosen in the inner folds.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    y = np.asarray(y, dtype=int)
    k, n, names = len(classes), len(y), list(members)
    if not names:
        raise ValueError("no vote members given")
    counts = np.bincount(y, minlength=k)
    if counts[counts > 0].min() < folds:
        raise ValueError(f"the rarest class has {counts[counts > 0].min()} rows, fewer than {folds} outer folds: "
                         "lower the number of folds or use more rows")
    p_members = {m: np.zeros((n, k)) for m in names}
    p_vote, p_best = np.zeros((n, k)), np.zeros((n, k))
    fold_rows = []
    outer = make_folds(y, folds, seed)
    for f, (tr, ev) in enumerate(tqdm(outer, desc="nested CV of the vote (outer folds)", disable=not progress)):
        oof = inner_oof(members, tr, y, k, inner_folds, seed)
        vote = fit_soft_vote(oof, y[tr], step=step, objective=objective)
        best = choose_best_member(oof, y[tr])
        for m in tqdm(names, desc=f"fold {f + 1}: refit members", disable=not progress, leave=False):
            p_members[m][ev] = members[m](tr, ev)
        p_vote[ev] = vote.predict_proba({m: p_members[m][ev] for m in names})
        p_best[ev] = p_members[best][ev]
        f1 = {m: classification_scores(y[ev], p_members[m][ev].argmax(1))["weighted_f1"] for m in names}
        fold_rows.append({"fold": f + 1, "n_train": len(tr), "n_eval": len(ev), "best_member": best,
                          **{f"w_{m}": w for m, w in zip(vote.members, vote.weights)},
                          **{f"k_{m}": kk for m, kk in zip(vote.members, vote.ks)},
                          "inner_oof_vote_weighted_f1": vote.val_weighted_f1,
                          **{f"f1_{m}": v for m, v in f1.items()},
                          "f1_vote": classification_scores(y[ev], p_vote[ev].argmax(1))["weighted_f1"]})
    settings = {"folds": folds, "inner_folds": inner_folds, "step": step, "objective": objective, "seed": seed,
                "members": names}
    return NestedVoteCV(y, list(classes), p_members, p_vote, p_best, pd.DataFrame(fold_rows),
                        time.perf_counter() - t0, settings)


def plot_error_correlation(corr: pd.DataFrame, title: str = "Members' error correlation"):
    """Heat map of the members' error correlation (annotated; the study's bar 0.45 in the colour scale)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.1 * len(corr) + 3, 0.9 * len(corr) + 2))
    im = ax.imshow(corr.to_numpy(dtype=float), vmin=-0.2, vmax=1.0, cmap="RdYlGn_r")
    ax.set_xticks(range(len(corr)), corr.columns, rotation=35, ha="right")
    ax.set_yticks(range(len(corr)), corr.index)
    for i in range(len(corr)):
        for j in range(len(corr)):
            v = corr.iat[i, j]
            ax.text(j, i, "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=9)
    fig.colorbar(im, ax=ax, label="correlation of error indicators (the study's members: < 0.45)")
    ax.set(title=title, xlabel="member", ylabel="member")
    fig.tight_layout()
    return fig


def plot_vote_cv(summary: pd.DataFrame, comparison: Mapping[str, float], title: str = "Vote vs members, nested CV"):
    """Weighted F1 of every member, the inner-chosen best member and the vote; the gain's interval beside it."""
    import matplotlib.pyplot as plt

    d = summary.reset_index(drop=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(d) + 2.2), gridspec_kw={"width_ratios": [2.2, 1]})
    yv = np.arange(len(d))
    colours = ["#4c78a8" if m not in ("vote", "best member (inner choice)") else
               ("#e45756" if m == "vote" else "#f58518") for m in d["model"]]
    axes[0].barh(yv, d["weighted_f1"], color=colours)
    for yi, v in zip(yv, d["weighted_f1"]):
        axes[0].text(v, yi, f" {v:.3f}", va="center", fontsize=8)
    lo = max(0.0, float(d["weighted_f1"].min()) - 0.1)
    axes[0].set_yticks(yv, d["model"])
    axes[0].set(xlim=(lo, 1.0), xlabel="weighted F1, every photo scored by unseen models (0–1)", title=title)
    g = comparison["gain"]
    axes[1].errorbar([g], [0], xerr=[[g - comparison["ci_low"]], [comparison["ci_high"] - g]], fmt="o", capsize=5)
    axes[1].axvline(0, color="black", lw=0.8)
    axes[1].set_yticks([0], ["vote − best member"])
    axes[1].set(xlabel="weighted F1 gain (95 % paired bootstrap)",
                title=f"{comparison['fixed']} rows fixed, {comparison['broken']} broken")
    fig.tight_layout()
    return fig


@dataclass
class NestedSelectCV:
    """Outer-fold probabilities of a model whose variant (e.g. its C) each outer fold chose on inner folds."""

    y: np.ndarray
    p: np.ndarray
    chosen: list[str]  # the variant each outer fold chose
    seconds: float = 0.0


def nested_select_cv(candidates: Mapping[str, ProbaFitPredict], y: Sequence[int], k: int, folds: int = 5,
                     inner_folds: int = 5, seed: int = 42, progress: bool = True,
                     desc: str = "nested CV") -> NestedSelectCV:
    """Every row predicted once by the variant its outer fold's inner out-of-fold scores picked.

    The outer folds are `make_folds(y, folds, seed)`: the same as `nested_vote_cv` and notebook 06's fusion
    with the same y, K and seed, so the results are paired row by row.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    y = np.asarray(y, dtype=int)
    p = np.zeros((len(y), k))
    chosen = []
    for tr, ev in tqdm(make_folds(y, folds, seed), desc=desc, disable=not progress):
        if len(candidates) > 1:
            best = choose_best_member(inner_oof(candidates, tr, y, k, inner_folds, seed), y[tr])
        else:
            best = next(iter(candidates))
        chosen.append(best)
        p[ev] = candidates[best](tr, ev)
    return NestedSelectCV(y, p, chosen, time.perf_counter() - t0)
