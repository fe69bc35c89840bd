"""Bias analysis: a classifier's metrics by group (language, text length...), flagging gaps beyond a threshold.

    report = bias_report(y_true, y_pred, {"language": langs, "length": length_buckets(texts)}, threshold=0.05)
    report.table      # one row per (dimension, group): n, accuracy (95 % CI), macro-F1, gaps, flag
    plot_bias(report)

A group is flagged when it has at least `min_count` examples and its metric falls more than
`threshold` below the overall value. Smaller groups are listed but marked too small to judge: a
gap measured on a handful of e-mails is noise, and saying so is part of the finding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

DEFAULT_WORD_EDGES = (0, 20, 50, 100, 200)


def length_buckets(texts: Sequence[str], edges: Sequence[int] | None = None, n_quantiles: int = 3) -> pd.Series:
    """Bucket texts by word count, e.g. "20–49 words", "≥ 200 words".

    Args:
        texts: the texts.
        edges: ascending lower bounds of the buckets (e.g. `DEFAULT_WORD_EDGES` for e-mails); None →
            data-driven edges at the word-count quantiles (`n_quantiles` buckets of similar size), so
            that short utterances and long e-mails are both split into comparable groups.
        n_quantiles: number of buckets when `edges` is None.
    """
    n_words = np.array([len(str(t).split()) for t in texts])
    if edges is None:
        qs = np.quantile(n_words, np.linspace(0, 1, n_quantiles + 1)[1:-1]) if len(n_words) else []
        edges = sorted({0, *(int(np.ceil(q)) for q in qs)})
    edges = list(edges)
    if not edges or edges != sorted(edges) or len(set(edges)) != len(edges):
        raise ValueError(f"edges must be strictly ascending, got {edges}")
    names = [f"{lo}–{hi - 1} words" for lo, hi in zip(edges[:-1], edges[1:])] + [f"≥ {edges[-1]} words"]
    idx = np.searchsorted(edges, n_words, side="right") - 1
    idx = np.clip(idx, 0, len(names) - 1)  # counts below the first edge go to the first bucket
    return pd.Series(pd.Categorical([names[i] for i in idx], categories=names, ordered=True), name="length")


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n (well-behaved for small n and extreme p)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(centre - half), float(centre + half)


@dataclass
class BiasReport:
    """Per-group metrics, the overall figures, and the flagged gaps."""

    table: pd.DataFrame
    overall: dict[str, float]
    threshold: float
    min_count: int
    metric: str
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> pd.DataFrame:
        """The rows whose gap exceeds the threshold (enough examples to judge)."""
        return self.table[self.table["flagged"]].reset_index(drop=True)

    def summary(self) -> list[str]:
        """One sentence per finding (flags, small groups, spread per dimension)."""
        lines = []
        for dim, t in self.table.groupby("dimension", sort=False):
            judged = t[~t["too_small"]]
            if len(judged) >= 2:
                spread = judged[self.metric].max() - judged[self.metric].min()
                lines.append(f"{dim}: {self.metric} ranges {judged[self.metric].min():.3f}–"
                             f"{judged[self.metric].max():.3f} across {len(judged)} groups (spread {spread:.3f})")
            for _, r in t[t["flagged"]].iterrows():
                lines.append(f"FLAG {dim} = {r['group']}: {self.metric} {r[self.metric]:.3f} is "
                             f"{-r['gap_' + self.metric]:.3f} below overall {self.overall[self.metric]:.3f} "
                             f"(n = {int(r['n'])}, threshold {self.threshold:.2f})")
            small = t[t["too_small"]]
            if len(small):
                lines.append(f"{dim}: {len(small)} group(s) with fewer than {self.min_count} examples not judged "
                             f"({', '.join(map(str, small['group']))})")
        return lines + self.notes


def bias_report(y_true: Sequence[Any], y_pred: Sequence[Any], dimensions: Mapping[str, Sequence[Any]],
                threshold: float = 0.05, min_count: int = 20, metric: str = "macro_f1",
                labels: Sequence[Any] | None = None, abstained: Sequence[bool] | None = None) -> BiasReport:
    """Metrics by group along each dimension, with gaps to the overall value.

    Args:
        y_true / y_pred: true and predicted labels.
        dimensions: name → one group value per example (e.g. {"language": langs, "length": buckets}).
        threshold: flag a group whose `metric` is more than this below the overall value.
        min_count: groups smaller than this are reported but not judged.
        metric: "macro_f1" or "accuracy": the metric the flags use.
        labels: the label list for macro-F1 (default: labels seen in y_true).
        abstained: optional reject decisions, to report each group's abstention (manual review) rate.
    """
    if metric not in ("macro_f1", "accuracy"):
        raise ValueError(f"metric must be 'macro_f1' or 'accuracy', got {metric!r}")
    y_true, y_pred = np.asarray(list(y_true)), np.asarray(list(y_pred))
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be non-empty and of equal length ({len(y_true)}, {len(y_pred)})")
    labels = list(labels) if labels is not None else sorted(set(y_true.tolist()))
    abst = None if abstained is None else np.asarray(list(abstained), dtype=bool)

    def scores(mask: np.ndarray) -> dict[str, float]:
        t, p = y_true[mask], y_pred[mask]
        present = [l for l in labels if l in set(t.tolist())]  # macro-F1 over the classes the group has
        out = {"n": int(mask.sum()), "accuracy": float(accuracy_score(t, p)),
               "macro_f1": float(f1_score(t, p, labels=present, average="macro", zero_division=0)),
               "n_classes": len(present)}
        lo, hi = wilson_interval(int((t == p).sum()), len(t))
        out["accuracy_ci_low"], out["accuracy_ci_high"] = lo, hi
        if abst is not None:
            out["abstention_rate"] = float(abst[mask].mean())
        return out

    everything = np.ones(len(y_true), dtype=bool)
    overall = scores(everything)
    rows = []
    for dim, values in dimensions.items():
        values = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(list(values))
        if len(values) != len(y_true):
            raise ValueError(f"dimension {dim!r} has {len(values)} values for {len(y_true)} examples")
        ordered = [str(c) for c in values.cat.categories] if isinstance(values.dtype, pd.CategoricalDtype) else []
        as_str = values.astype(object).where(values.notna(), "unknown").astype(str).to_numpy()
        order = ordered + sorted(set(as_str) - set(ordered))
        for g in order:
            mask = as_str == str(g)
            if not mask.any():
                continue
            s = scores(mask)
            row = {"dimension": dim, "group": str(g), **s,
                   "gap_accuracy": s["accuracy"] - overall["accuracy"],
                   "gap_macro_f1": s["macro_f1"] - overall["macro_f1"]}
            row["too_small"] = s["n"] < min_count
            row["flagged"] = bool(not row["too_small"] and row["gap_" + metric] < -threshold)
            rows.append(row)
    table = pd.DataFrame(rows)
    notes = []
    if metric == "macro_f1":
        notes.append("macro-F1 of a group averages only the classes present in it; compare with accuracy "
                     "when groups have different class mixes")
    return BiasReport(table=table, overall={k: v for k, v in overall.items() if isinstance(v, float)},
                      threshold=threshold, min_count=min_count, metric=metric, notes=notes)


def plot_bias(report: BiasReport, axes: Any = None) -> Any:
    """One bar panel per dimension: the metric per group with the overall line; flagged bars in red."""
    import matplotlib.pyplot as plt

    dims = list(dict.fromkeys(report.table["dimension"]))
    if axes is None:
        _, axes = plt.subplots(1, len(dims), figsize=(5.5 * len(dims), 4.2), squeeze=False)
        axes = axes[0]
    m = report.metric
    for ax, dim in zip(axes, dims):
        t = report.table[report.table["dimension"] == dim]
        colors = ["#d62728" if f else ("#bbbbbb" if s else "#4c78a8") for f, s in zip(t["flagged"], t["too_small"])]
        x = np.arange(len(t))
        ax.bar(x, t[m].to_numpy(float), color=colors)
        acc = t["accuracy"].to_numpy(float)
        err_lo = np.clip(acc - t["accuracy_ci_low"].to_numpy(float), 0, None)
        err_hi = np.clip(t["accuracy_ci_high"].to_numpy(float) - acc, 0, None)
        ax.errorbar(x, acc, yerr=[err_lo, err_hi], fmt="k.", capsize=3, label="accuracy (95 % CI)")
        ax.axhline(report.overall[m], color="black", ls="--", lw=1, label=f"overall {m} {report.overall[m]:.3f}")
        ax.axhline(report.overall[m] - report.threshold, color="#d62728", ls=":", lw=1,
                   label=f"flag line (−{report.threshold:.2f})")
        for xi, (v, n) in enumerate(zip(t[m], t["n"])):
            ax.text(xi, 0.02, f"n={int(n)}", ha="center", fontsize=7, color="white" if v > 0.1 else "black")
        ax.set_xticks(x, t["group"], rotation=20, ha="right", fontsize=8)
        ax.set(ylim=(0, 1.05), xlabel=dim, ylabel=f"{m} (0–1)", title=f"{m} by {dim} (grey: n < {report.min_count})")
        ax.legend(fontsize=7, loc="lower right")
    return axes
