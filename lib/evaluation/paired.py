"""Did a combined model (a vote, a fusion) beat its reference on the same rows? One answer, one wording.

Notebooks 05 (soft vote vs its best member) and 06 (fusion vs the best single modality) ask the same
question of paired predictions: the weighted-F1 gain, a 95 % paired bootstrap interval over rows
(`scipy.stats.bootstrap` with `paired=True`), the rows fixed and broken, and a one-sentence verdict.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import f1_score


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    return float(f1_score(y, pred, average="weighted", zero_division=0))


def fixed_and_broken(y: np.ndarray, pred_ref: np.ndarray, pred_new: np.ndarray) -> dict[str, int]:
    """Rows the new model fixes (reference wrong, new right) and breaks (reference right, new wrong)."""
    y, pred_ref, pred_new = np.asarray(y), np.asarray(pred_ref), np.asarray(pred_new)
    ref_ok, new_ok = pred_ref == y, pred_new == y
    return {"fixed": int((~ref_ok & new_ok).sum()), "broken": int((ref_ok & ~new_ok).sum()),
            "both_right": int((ref_ok & new_ok).sum()), "both_wrong": int((~ref_ok & ~new_ok).sum())}


def paired_bootstrap(y: np.ndarray, pred_ref: np.ndarray, pred_new: np.ndarray, n_boot: int = 1000,
                     seed: int = 42) -> dict[str, float]:
    """Weighted-F1 difference new − reference with a 95 % paired percentile bootstrap interval over rows.

    The rows are resampled together for both models (`scipy.stats.bootstrap(paired=True)`), so the interval
    is that of the difference on the same listings; with ~150 test rows one row is worth ~0.007 F1.
    The draws are those of a loop over `default_rng(seed).integers(0, n, n)`. The percentile method, not
    scipy's default BCa: BCa returns NaN when the two models agree on every row (every resampled gain is 0)
    and its jackknife refits the statistic n times per call.
    """
    from scipy.stats import bootstrap

    y, pred_ref, pred_new = (np.asarray(a) for a in (y, pred_ref, pred_new))
    if not (len(y) == len(pred_ref) == len(pred_new)) or len(y) < 2:
        raise ValueError(f"need ≥ 2 paired rows of equal length, got {len(y)}, {len(pred_ref)}, {len(pred_new)}")

    def gain(yy: np.ndarray, rr: np.ndarray, nn: np.ndarray) -> float:
        return _f1(yy, nn) - _f1(yy, rr)

    point = gain(y, pred_ref, pred_new)
    if np.array_equal(pred_ref, pred_new):  # identical predictions: every resample gives 0
        return {"gain": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_gain_positive": 0.0}
    res = bootstrap((y, pred_ref, pred_new), gain, paired=True, vectorized=False, n_resamples=n_boot,
                    confidence_level=0.95, method="percentile", rng=np.random.default_rng(seed))
    dist = res.bootstrap_distribution
    return {"gain": float(point), "ci_low": float(res.confidence_interval.low),
            "ci_high": float(res.confidence_interval.high), "p_gain_positive": float((dist > 0).mean())}


def compare_paired(y: np.ndarray, pred_ref: np.ndarray, pred_new: np.ndarray, n_boot: int = 1000,
                   seed: int = 42) -> dict[str, float]:
    """`paired_bootstrap` and `fixed_and_broken` in one dict (what the verdict and the tables print)."""
    return {**paired_bootstrap(y, pred_ref, pred_new, n_boot, seed), **fixed_and_broken(y, pred_ref, pred_new)}


def beats_verdict(new: str, reference: str, comparison: dict[str, float], where: str,
                  why_not: Sequence[str] = ()) -> str:
    """One sentence: does `new` beat `reference` on `where`, by how much, with the interval and rows fixed/broken.

    "Beats" means the 95 % interval's lower bound is above 0; a positive point estimate whose interval
    includes 0 is reported as not shown. `why_not` adds the measured reasons when it does not.
    """
    c = comparison
    stats = (f"{c['gain']:+.3f} weighted F1 (95 % paired bootstrap {c['ci_low']:+.3f}…{c['ci_high']:+.3f}; "
             f"{c['fixed']} rows fixed, {c['broken']} broken)")
    if c["ci_low"] > 0:
        head = f"{new} beats {reference} on {where}: {stats}"
    elif c["gain"] > 0:
        head = f"{new} scores above {reference} on {where} but the gain is not shown beyond noise: {stats}"
    else:
        head = f"{new} does NOT beat {reference} on {where}: {stats}"
    reasons = [r for r in why_not if r]
    return head + (". Why: " + "; ".join(reasons) if reasons and c["ci_low"] <= 0 else "")
