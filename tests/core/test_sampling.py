"""One stratified subsampler: proportions kept, no class dropped, clear error when impossible."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core.sampling import stratified_indices


def test_caps_keep_proportions_and_every_class():
    y = ["a"] * 60 + ["b"] * 30 + ["c"] * 9 + ["d"]
    keep = stratified_indices(y, 20, seed=0)
    got = np.array(y)[keep]
    assert len(keep) == 20 and len(set(keep)) == 20 and list(keep) == sorted(keep)
    counts = {c: int((got == c).sum()) for c in "abcd"}
    assert counts["d"] == 1 and counts["a"] >= 10 and counts["b"] >= 5  # the singleton survives
    assert np.array_equal(keep, stratified_indices(y, 20, seed=0))  # deterministic
    assert not np.array_equal(keep, stratified_indices(y, 20, seed=1))


def test_no_cap_and_impossible_cap():
    y = list("aabbcc")
    assert list(stratified_indices(y, None)) == list(range(6))
    assert list(stratified_indices(y, 10)) == list(range(6))
    with pytest.raises(ValueError, match="without dropping a class"):
        stratified_indices(y, 2)
    assert sorted(np.array(y)[stratified_indices(y, 3)]) == ["a", "b", "c"]


def test_a_floor_per_class_keeps_small_classes_whole_and_respects_the_cap():
    from lib.core.sampling import stratified_indices

    y = ["a"] * 100 + ["b"] * 5 + ["c"] * 2
    idx = stratified_indices(y, 30, seed=0, min_per_class=3)
    kept = [y[i] for i in idx]
    assert len(idx) == 30 and kept.count("b") >= 3 and kept.count("c") == 2
    with pytest.raises(ValueError, match="at least 8"):
        stratified_indices(y, 7, seed=0, min_per_class=3)
