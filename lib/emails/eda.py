"""Exploratory views of an inbox: class and urgency balance, lengths, structure, PII detection scores."""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from lib.emails.clean import _REPLY_HEADER, looks_like_html


def structure_stats(texts: Sequence[str]) -> pd.DataFrame:
    """Share of e-mails with HTML, a quoted reply, a `>`-quote, a closing formula, non-ASCII spaces."""
    texts = [str(t) for t in texts]
    checks = {
        "HTML markup": [looks_like_html(t) for t in texts],
        "reply/forward header": [bool(_REPLY_HEADER.search(t)) for t in texts],
        "'>' quoted lines": [bool(re.search(r"^\s*(?:>|&gt;)", t, re.M)) for t in texts],
        "closing formula": [bool(re.search(r"cordialement|regards|sincerely|bien [àa] vous|salutations", t, re.I))
                            for t in texts],
        "no-break / odd spaces": [bool(re.search("[\u00a0\u202f\u200b]", t)) for t in texts],
    }
    return pd.DataFrame({"feature": list(checks), "share": [float(np.mean(v)) for v in checks.values()],
                         "count": [int(np.sum(v)) for v in checks.values()]})


def distribution(values: Sequence, name: str) -> pd.DataFrame:
    """Counts and shares of each value (NaN shown as 'missing')."""
    s = pd.Series(list(values), dtype=object).fillna("missing").astype(str)
    counts = s.value_counts()
    return pd.DataFrame({name: counts.index, "count": counts.values, "share": counts.values / len(s)})


def plot_counts(table: pd.DataFrame, name: str, title: str, ax=None):
    """Horizontal bars of a `distribution` table."""
    import matplotlib.pyplot as plt

    d = table.iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.3 * len(d) + 1.4))
    ax.barh([str(v)[:45] for v in d[name]], d["count"], color="#4c78a8")
    for y, (c, s) in enumerate(zip(d["count"], d["share"])):
        ax.text(c, y, f" {c} ({s:.0%})", va="center", fontsize=8)
    ax.set(xlabel="e-mails (count)", ylabel=name, title=title)
    ax.set_xlim(0, d["count"].max() * 1.25)
    return ax


def plot_lengths(texts: Sequence[str], groups: Sequence[str], title: str = "Length of the cleaned text by class",
                 ax=None):
    """Box plot of word counts per group."""
    import matplotlib.pyplot as plt

    df = pd.DataFrame({"words": [len(str(t).split()) for t in texts], "group": [str(g) for g in groups]})
    order = sorted(df.group.unique())
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.5))
    ax.boxplot([df.loc[df.group == g, "words"] for g in order], vert=False, showfliers=False)
    ax.set_yticks(range(1, len(order) + 1), [g[:45] for g in order], fontsize=8)
    ax.set(xlabel="length (words)", ylabel="class", title=title)
    return ax


def plot_pii_scores(table: pd.DataFrame, title: str = "PII detection per type (synthetic ground truth)", ax=None):
    """Grouped bars of precision, recall and masked recall per PII type."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4))
    x = np.arange(len(table))
    cols = [("precision", "#4c78a8"), ("recall", "#f58518"), ("fully_masked", "#54a24b")]
    for i, (col, color) in enumerate(cols):
        ax.bar(x + (i - 1) * 0.27, table[col] * 100, width=0.27, label=col.replace("_", " "), color=color)
    ax.set_xticks(x, table["type"])
    ax.set(xlabel="PII type", ylabel="score (%)", title=title, ylim=(0, 105))
    ax.legend(loc="lower right")
    return ax


def placeholder_counts(texts: Sequence[str]) -> pd.DataFrame:
    """How many typed placeholders the anonymiser inserted, by type."""
    joined = "\n".join(str(t) for t in texts)
    types = ("PERSON", "EMAIL", "PHONE", "STUDENT_ID", "IBAN", "ADDRESS")
    return pd.DataFrame({"type": types, "placeholders": [joined.count(f"<{t}>") for t in types]})
