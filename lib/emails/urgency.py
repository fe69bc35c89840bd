"""Urgency: an explainable rule layer for explicit markers, combined with a learned model."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

# Explicit "not urgent" phrases; matched first and removed so "pas urgent" never counts as "urgent".
NEGATED = re.compile(
    r"\b(?:(?:ce\s+n'est\s+)?pas\s+(?:tr[eè]s\s+)?urgent\w*|rien\s+d'urgent|sans\s+urgence|aucune\s+urgence"
    r"|(?:this\s+is\s+|it\s+is\s+)?not\s+urgent|nothing\s+urgent|no\s+rush|no\s+hurry"
    r"|quand\s+vous\s+aurez\s+le\s+temps|whenever\s+you\s+(?:have|can))\b", re.I)
# (rule name, pattern, level). Order is the order reasons are listed in.
RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("urgent", re.compile(r"\burgen(?:t|te|ts|tes|ce|tly|cy)\b|\burgt\b", re.I), "haute"),
    ("asap", re.compile(r"\basap\b|d[eè]s\s+que\s+possible|au\s+plus\s+vite|as\s+soon\s+as\s+possible"
                        r"|imm[ée]diatement|immediately|sans\s+d[ée]lai", re.I), "haute"),
    ("today", re.compile(r"\baujourd'?hui\b|\btoday\b|\bce\s+soir\b|\btonight\b|\bcet\s+apr[eè]s-midi\b", re.I), "haute"),
    ("before tomorrow", re.compile(r"\bavant\s+demain\b|\bbefore\s+tomorrow\b|\bd'ici\s+demain\b|\bby\s+tomorrow\b"
                                   r"|\b(?:est|is)\s+demain\b|\bis\s+tomorrow\b|\bdemain\s+(?:matin|midi)\b", re.I),
     "haute"),
    ("deadline", re.compile(r"\bdate\s+limite\b|\bdeadline\b|\b[ée]ch[ée]ance\b|\bd'ici\s+(?:le|la|lundi|mardi|mercredi"
                            r"|jeudi|vendredi)\b|\bby\s+(?:monday|tuesday|wednesday|thursday|friday|the\s+end)\b", re.I),
     "moyenne"),
    ("this week", re.compile(r"\bcette\s+semaine\b|\bthis\s+week\b|\brapidement\b|\bquickly\b|\bbloqu[ée]\w*\b"
                             r"|\bstuck\b", re.I), "moyenne"),
]
LEVELS = ("faible", "moyenne", "haute")


@dataclass
class RuleResult:
    """Which markers fired and the level they imply (None: no marker)."""

    level: str | None
    hits: list[tuple[str, str]] = field(default_factory=list)  # (rule, matched text)

    def reasons(self) -> list[str]:
        return [f"urgency marker '{m}' ({r})" for r, m in self.hits]


def apply_rules(text: str) -> RuleResult:
    """The highest level among the explicit markers found in `text` (negated phrases → `faible`)."""
    text = text or ""
    hits: list[tuple[str, str]] = []
    negated = [m.group(0) for m in NEGATED.finditer(text)]
    rest = NEGATED.sub(" ", text)
    level = None
    for name, pattern, lvl in RULES:
        m = pattern.search(rest)
        if m:
            hits.append((name, m.group(0)))
            if level is None or LEVELS.index(lvl) > LEVELS.index(level):
                level = lvl
    if level is None and negated:
        hits.append(("not urgent", negated[0]))
        level = "faible"
    return RuleResult(level, hits)


def combine(model_level: str | None, rule: RuleResult, trusted: Sequence[str] | None = None) -> tuple[str | None, str]:
    """Rules decide `haute` when a trusted explicit marker fires; otherwise the model decides.

    Args:
        trusted: names of the `haute` rules allowed to override the model (None: all of them).
    Returns (level, how) where how is "rule", "model" or "none".
    """
    haute_rules = {n for n, _, lvl in RULES if lvl == "haute"}
    allowed = haute_rules if trusted is None else set(trusted) & haute_rules
    if any(name in allowed for name, _ in rule.hits):
        return "haute", "rule"
    if model_level is not None:
        return model_level, "model"
    if rule.level is not None and (rule.level != "haute" or trusted is None):
        return rule.level, "rule"
    return None, "none"


def precision_recall_for(y_true: Sequence, y_pred: Sequence, level: str = "haute") -> dict[str, float]:
    """Precision, recall and support of one level (predictions may be None = no decision)."""
    t = np.asarray([str(v) for v in y_true])
    p = np.asarray([str(v) for v in y_pred])
    pred_pos, true_pos = p == level, t == level
    tp = int((pred_pos & true_pos).sum())
    return {"precision": tp / pred_pos.sum() if pred_pos.sum() else float("nan"),
            "recall": tp / true_pos.sum() if true_pos.sum() else float("nan"),
            "predicted": int(pred_pos.sum()), "support": int(true_pos.sum())}


def compare_urgency(y_true: Sequence, predictions: dict[str, Sequence], level: str = "haute") -> pd.DataFrame:
    """Precision/recall of `level` for several predictors (e.g. rules, model, combined)."""
    return pd.DataFrame([{"predictor": k, **precision_recall_for(y_true, v, level)} for k, v in predictions.items()])


def rule_precision(texts: Sequence[str], y_true: Sequence, level: str = "haute") -> pd.DataFrame:
    """Per rule: how often it fired and the share of those texts whose true level is `level`
    (for rules implying `level`) — which markers deserve trust."""
    rows = []
    truth = [str(v) for v in y_true]
    results = [apply_rules(t) for t in texts]
    for name, _, lvl in RULES + [("not urgent", NEGATED, "faible")]:
        fired = [i for i, r in enumerate(results) if any(h[0] == name for h in r.hits)]
        rows.append({"rule": name, "implies": lvl, "fired": len(fired),
                     "precision": (sum(truth[i] == lvl for i in fired) / len(fired)) if fired else float("nan")})
    return pd.DataFrame(rows)


def trusted_rules(texts: Sequence[str], y_true: Sequence, min_precision: float = 0.9, min_fired: int = 5) -> list[str]:
    """The `haute` rules whose precision on labelled texts reaches `min_precision` (fired ≥ `min_fired` times)."""
    table = rule_precision(texts, y_true)
    ok = table[(table["implies"] == "haute") & (table["fired"] >= min_fired) & (table["precision"] >= min_precision)]
    return ok["rule"].tolist()
