"""Out-of-fold scores: the rows every choice (C, temperature, weight, threshold) is made on, never the test set."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold

from lib.evaluation.calibration import binary_logits

MISSING_CLASS_SCORE = -1e4  # a class a model never saw: softmax gives it ~0 probability, at any temperature ≥ 0.05

FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (train rows, scored rows) → (n_scored, k) scores


def make_folds(y: Sequence[Any], n_splits: int = 5, seed: int = 42) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds over all rows; fewer folds when the smallest class cannot fill `n_splits`.

    A class with a single row cannot be held out and scored by a model that saw it elsewhere: such rows are
    always in the training part (their out-of-fold score is that of a model trained without them only if
    the class has ≥ 2 rows). Raises ValueError when fewer than 2 folds are possible.
    """
    y = np.asarray(list(y))
    _, counts = np.unique(y, return_counts=True)
    k = int(min(n_splits, counts.max()))
    if k < 2:
        raise ValueError("out-of-fold scores need at least 2 rows in some class")
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    import warnings

    with warnings.catch_warnings():  # "the least populated class has only N members": handled below
        warnings.simplefilter("ignore", UserWarning)
        return [(tr, va) for tr, va in skf.split(np.zeros(len(y)), y)]


def align_columns(scores: np.ndarray, classes: Sequence[Any], labels: Sequence[Any],
                  floor: float = MISSING_CLASS_SCORE) -> np.ndarray:
    """Reorder a model's score columns (`classes`, e.g. sklearn `classes_`) to `labels`; absent classes get `floor`.

    Binary decision values (1-D) become two columns [0, d], whose softmax is the model's own sigmoid.
    """
    scores = np.asarray(scores, dtype=float)
    scores = binary_logits(scores)
    out = np.full((len(scores), len(labels)), floor)
    index = {str(c): j for j, c in enumerate(classes)}
    for i, lab in enumerate(labels):
        if str(lab) in index:
            out[:, i] = scores[:, index[str(lab)]]
    return out


def out_of_fold(fit_predict: FitPredict, folds: Sequence[tuple[np.ndarray, np.ndarray]], n: int, k: int,
                progress: bool = False, desc: str = "out-of-fold") -> np.ndarray:
    """(n, k) scores where row i comes from the fold model that did not see row i."""
    from tqdm.auto import tqdm

    out = np.zeros((n, k))
    seen = np.zeros(n, bool)
    for tr, va in tqdm(list(folds), desc=desc, disable=not progress, leave=False):
        out[va] = fit_predict(np.asarray(tr), np.asarray(va))
        seen[va] = True
    if not seen.all():
        raise ValueError(f"{int((~seen).sum())} rows are in no held-out fold")
    return out
