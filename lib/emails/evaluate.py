"""Test-set figures for the triage models: macro-F1, per-class F1, and a check that no PII reached a model."""
from __future__ import annotations

from pathlib import Path

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from lib.evaluation.metrics import classification_scores  # noqa: F401  (re-exported for the notebooks)


def per_class_scores(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, sorted by F1."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(labels), zero_division=0)
    return pd.DataFrame({"class": list(labels), "precision": p, "recall": r, "f1": f, "support": s}).sort_values(
        "f1").reset_index(drop=True)


def plot_per_class_f1(table: pd.DataFrame, title: str = "Per-class F1 on the test set", ax=None):
    """Horizontal bars of per-class F1 (with support in the label)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.3 * len(table) + 1.5))
    labels = [f"{str(c)[:45]} (n={n})" for c, n in zip(table["class"], table["support"])]
    ax.barh(labels, table["f1"] * 100, color="#4c78a8")
    ax.axvline(table["f1"].mean() * 100, ls="--", color="grey", label=f"macro-F1 {table['f1'].mean():.3f}")
    ax.set(xlabel="F1 (%)", ylabel="class", title=title, xlim=(0, 100))
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(loc="lower right")
    return ax


def pii_in_vocabulary(model, values: dict[str, set[str]], min_len: int = 4) -> pd.DataFrame:
    """How many known raw PII values appear as a word feature of a fitted TF-IDF pipeline, by type.

    A saved vectoriser carries its vocabulary: any name the anonymiser missed in training text
    ends up in `models/`. Multi-word values are checked word by word (e.g. a surname alone).
    """
    names = model[:-1].get_feature_names_out()
    words = {n.split("__", 1)[1] for n in names if n.startswith("word__")}
    rows = []
    for kind, vals in values.items():
        # an address's domain ("orange.fr", "univ-lyon2.fr") is not personal: only its local part is looked up
        tokens = {w.lower() for v in vals for w in v.split("@")[0].replace(".", " ").split() if len(w) >= min_len
                  and not w.isdigit()} if kind in ("PERSON", "EMAIL") else {v.lower() for v in vals}
        found = sorted(t for t in tokens if t in words)
        rows.append({"type": kind, "checked_tokens": len(tokens), "in_vocabulary": len(found)})
    return pd.DataFrame(rows)


def study_artifacts(reports: Path, models: Path, source: str = "demo", current: str | None = None) -> list[Path]:
    """What the e-mail study left behind from runs on `source` data, for the leak scan.

    The reports of 01–03 (HTML, executed notebook, metrics; 03's model card) whose metrics say they ran on
    `source`, the notebook `current` (running now: its metrics are not written yet), and the model folders under
    `models/emails/` saved from `source` data. Artifacts of another data set are left out: their words are not
    the demo inbox's, and a common name in them ("David", "Petit") would be counted as a leak.
    """
    import json

    reports, out = Path(reports), []
    for metrics in sorted((reports / "metrics").glob("0[1-3]_*.json")):
        try:
            ran_on = json.loads(metrics.read_text(encoding="utf-8"))["data"]["source"]
        except (ValueError, KeyError, TypeError):
            continue
        if ran_on == source or metrics.stem == current:
            out += [metrics, reports / f"{metrics.stem}.html", reports / "executed" / f"{metrics.stem}.ipynb"]
            if metrics.stem.startswith("03_"):
                out += sorted(reports.glob("model_card_emails.*"))
    if current:
        out += [reports / f"{current}.html", reports / "executed" / f"{current}.ipynb"]
    for meta in sorted((Path(models) / "emails").glob("*/meta.json")):
        try:
            saved_from = (json.loads(meta.read_text(encoding="utf-8")).get("data") or {}).get("source")
        except ValueError:
            saved_from = None
        if saved_from == source:
            out.append(meta.parent)
    return sorted({p for p in out if p.exists()})


def select_examples(proba: np.ndarray, y_index: Sequence[int], threshold: float, n: int = 3) -> list[int]:
    """Indices of instructive test e-mails: the most confident correct one, the most confident error,
    an abstention (below the threshold), then the next most confident ones — `n` in all, no repeats."""
    proba, y = np.asarray(proba), np.asarray(y_index)
    conf, pred = proba.max(1), proba.argmax(1)
    order = np.argsort(-conf)
    picks: list[int] = []
    for cond in (pred[order] == y[order], pred[order] != y[order], conf[order] < threshold):
        for cand in order[cond]:
            if len(picks) < n and int(cand) not in picks:
                picks.append(int(cand))
                break
    for i in order:
        if len(picks) >= n:
            break
        if int(i) not in picks:
            picks.append(int(i))
    return picks[:n]
