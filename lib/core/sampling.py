"""Stratified subsampling: one function for every "at most N rows" cap in the casebook."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd


def stratified_indices(y: Sequence[Any], n: int | None, seed: int = 42, min_per_class: int = 1) -> np.ndarray:
    """Sorted indices of at most `n` rows, class proportions kept and every class keeping at least one row
    (`min_per_class` rows, or all of its rows when it has fewer).

    Unlike `train_test_split(stratify=...)`, a class with a single row is kept (not an error), and no class
    disappears: each gets max(1, its proportional share), the shares being rounded by largest remainder.

    Args:
        y: the class of each row.
        n: the cap; None, 0 or ≥ len(y) keeps every row.
        seed: which rows are drawn inside each class.
        min_per_class: the floor per class (the product study keeps 3, so that a stratified train/val/test
            split still sees every class).

    Raises:
        ValueError: `n` is smaller than the number of classes (some class would have to be dropped).
    """
    y = pd.Series(list(y))
    if n is None or n <= 0 or n >= len(y):
        return np.arange(len(y))
    counts = y.value_counts().sort_index()
    floor = np.minimum(counts, max(1, int(min_per_class)))
    if n < int(floor.sum()):
        raise ValueError(f"cannot keep {n} rows of {len(counts)} classes without dropping a class (or going under "
                         f"{int(min_per_class)} rows per class): raise the cap to at least {int(floor.sum())}")
    share = counts / counts.sum() * n
    take = np.maximum(floor, np.floor(share)).astype(int).clip(upper=counts)
    # hand out what rounding left, largest remainder first, where a class still has rows to give
    order = (share - np.floor(share)).sort_values(ascending=False, kind="stable").index
    left = n - int(take.sum())
    while left > 0:
        progressed = False
        for cls in order:
            if left and take[cls] < counts[cls]:
                take[cls] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    while left < 0:  # the minimum per class overshot: take back from the largest classes
        cls = (take - floor).idxmax()
        take[cls] -= 1
        left += 1
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero((y == cls).to_numpy()), size=int(k), replace=False) for cls, k in take.items()]
    return np.sort(np.concatenate(keep))
