"""LIME explanations of a text classifier (local, per e-mail), as tables and embeddable HTML."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd


def explain_texts(predict_proba: Callable[[list[str]], np.ndarray], texts: Sequence[str], class_names: Sequence[str],
                  num_features: int = 8, num_samples: int = 500, seed: int = 42, progress: bool = True) -> list:
    """One `lime.explanation.Explanation` per text, for its predicted class.

    Args:
        predict_proba: list of texts → (n, k) probabilities whose columns follow `class_names`.
        texts: the (already anonymised) texts to explain — LIME shows them verbatim.
        num_samples: perturbed copies per text (LIME's cost is num_samples predictions per text).
    """
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(class_names=list(class_names), random_state=seed, bow=True)
    out = []
    it = list(texts)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="LIME")
    for text in it:
        proba = predict_proba([text])[0]
        top = int(np.argmax(proba))
        exp = explainer.explain_instance(text, lambda xs: predict_proba(list(xs)), labels=(top,),
                                         num_features=num_features, num_samples=num_samples)
        out.append(exp)
    return out


def explanation_table(exps: Sequence, class_names: Sequence[str]) -> pd.DataFrame:
    """Long table: e-mail index, explained class, word, weight (positive: towards the class)."""
    rows = []
    for i, exp in enumerate(exps):
        for label in exp.available_labels():
            for word, weight in exp.as_list(label=label):
                rows.append({"email": i, "class": class_names[label], "word": word, "weight": float(weight)})
    return pd.DataFrame(rows)


def explanations_html(exps: Sequence, titles: Sequence[str] | None = None) -> str:
    """LIME's own interactive HTML for each explanation, one after the other (for IPython.display.HTML)."""
    parts = []
    for i, exp in enumerate(exps):
        title = titles[i] if titles else f"E-mail {i + 1}"
        label = exp.available_labels()[0]
        parts.append(f"<h4>{title}</h4>" + exp.as_html(labels=(label,), predict_proba=True, show_predicted_value=True))
    return "\n".join(parts)
