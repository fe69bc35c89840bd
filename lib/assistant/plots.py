"""Plots of the assistant study: fee schedule, token lengths, loss curve, metric comparison, interventions."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib.assistant.rules import DEFAULT_RULES, BusinessRules


def plot_fee_schedule(rules: BusinessRules = DEFAULT_RULES, ax=None):
    """Fee (FCFA) against amount (FCFA, log scale) for same- and cross-operator transfers."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    amounts = np.unique(np.geomspace(rules.min_amount, rules.max_amount, 400).astype(int))
    ops = [o.key for o in rules.operators]
    for label, (s, d) in (("same operator", (ops[0], ops[0])), ("different operators", (ops[0], ops[1]))):
        ax.plot(amounts, [rules.quote(int(a), s, d).fee for a in amounts], label=f"{label} "
                f"({rules.rate_for(s, d) * 100:g} %)")
    ax.axhline(rules.min_fee, ls=":", c="grey")
    ax.axhline(rules.max_fee, ls=":", c="grey")
    ax.set_xscale("log")
    ax.set(xlabel="amount sent (FCFA, log scale)", ylabel="fee (FCFA)",
           title=f"Fee schedule: min {rules.min_fee}, max {rules.max_fee} FCFA")
    ax.legend()
    return ax


def plot_token_lengths(lengths: dict[str, list[int]], max_length: int, ax=None):
    """Histogram of encoded conversation lengths (tokens) per split, with the truncation length."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for name, vals in lengths.items():
        ax.hist(vals, bins=30, alpha=0.6, label=f"{name} (n={len(vals)})")
    ax.axvline(max_length, c="red", ls="--", label=f"max length {max_length}")
    ax.set(xlabel="tokens per conversation (chat template applied)", ylabel="conversations",
           title="Encoded conversation lengths")
    ax.legend()
    return ax


def plot_loss_curve(log_history: list[dict[str, Any]], ax=None, best_step: int | None = None):
    """Training and validation loss (assistant tokens, nats/token) per optimiser step, with the learning rate."""
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in log_history if "loss" in h]
    losses = [h["loss"] for h in log_history if "loss" in h]
    lrs = [h.get("learning_rate", np.nan) for h in log_history if "loss" in h]
    val = [(h["step"], h["eval_loss"]) for h in log_history if "eval_loss" in h]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(steps, losses, lw=1, alpha=0.8, label="training loss (per step)")
    if val:
        ax.plot(*zip(*val), marker="o", c="C1", label="validation loss")
    if best_step is not None:
        ax.axvline(best_step, c="C1", ls="--", lw=1, label=f"kept: step {best_step}")
    ax.set(xlabel="optimiser step (effective batch)", ylabel="loss (nats per assistant token)",
           title="LoRA fine-tuning: learning curve")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax2 = ax.twinx()
    ax2.plot(steps, lrs, c="grey", ls=":", label="learning rate")
    ax2.set_ylabel("learning rate")
    ax.legend(loc="upper right")
    return ax


def plot_metric_grid(table: pd.DataFrame, metrics: list[str]):
    """One small bar chart per metric, one bar per system."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if m in table.columns]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.4))
    axes = np.atleast_1d(axes)
    for ax, m in zip(axes, metrics):
        vals = table[m].astype(float)
        ax.bar(range(len(vals)), vals.fillna(0), color=["#9ecae1", "#3182bd", "#fdae6b", "#e6550d"][:len(vals)])
        ax.set_xticks(range(len(vals)), table.index, rotation=45, ha="right", fontsize=7)
        unit = "s" if "latency" in m else "tokens/s" if "tokens_per_s" in m else "ratio"
        ax.set(title=m, ylabel=unit)
        for i, v in enumerate(vals):
            ax.text(i, 0 if np.isnan(v) else v, "n/a" if np.isnan(v) else f"{v:.3g}", ha="center", va="bottom",
                    fontsize=7)
    fig.suptitle("Base vs fine-tuned, without and with guardrails (test subset)")
    fig.tight_layout()
    return fig


def plot_interventions(counts: dict[str, dict[str, int]], ax=None):
    """Guardrail interventions by type (count) for each model."""
    import matplotlib.pyplot as plt

    df = pd.DataFrame(counts).fillna(0)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    if df.empty:
        ax.text(0.5, 0.5, "no intervention", ha="center", va="center")
    else:
        df.plot.barh(ax=ax)
    ax.set(xlabel="answers (count)", ylabel="intervention type", title="Guardrail interventions")
    return ax
