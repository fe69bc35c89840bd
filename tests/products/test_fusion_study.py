"""Notebook 06's glue: aligning saved probabilities, id mismatches, image calibration, the comparison table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.products.artifacts import load_probs, save_probs
from lib.products.fusion_study import (calibrate_image, comparison_table, gather, load_fusion_config,
                                       missing_modality_scenarios, save_fusion_config)

CLASSES = ["a", "b", "c"]


def _split(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    df = pd.DataFrame({"id": [f"s{seed}_{i}" for i in range(n)], "label": [CLASSES[k] for k in y],
                       "text": ["t"] * n, "image_path": ["x.jpg"] * n})
    df.loc[:4, "image_path"] = None  # five listings without photo
    df.loc[5, "text"] = ""  # one empty text
    return df, y


def _probs(y, strength, rng):
    z = rng.normal(0, 1, (len(y), 3))
    z[np.arange(len(y)), y] += strength
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)


@pytest.fixture()
def saved(isolated_outputs):
    rng = np.random.default_rng(1)
    out = {}
    for split, seed in (("val", 1), ("test", 2)):
        df, y = _split(seed=seed)
        photo = df["image_path"].notna().to_numpy()
        save_probs("toy", "text", split, df["id"], _probs(y, 1.2, rng), CLASSES)
        # the image side saves only rows with a photo, and its columns in another order
        p_img = _probs(y, 2.5, rng)[photo] ** 0.3  # too soft: calibration must sharpen it
        p_img = p_img / p_img.sum(1, keepdims=True)
        save_probs("toy", "image_vote", split, df["id"][photo], p_img[:, ::-1], CLASSES[::-1])
        out[split] = df
    return out


def test_gather_aligns_and_marks_missing_photos(saved):
    m = gather("toy", saved["test"], "test", CLASSES)
    assert m.p_text.shape == (90, 3) and not np.isnan(m.p_text).any()
    assert m.image_present.tolist()[:6] == [False] * 5 + [True] and not m.text_present[5]
    raw = load_probs("toy", "image_vote", "test")
    np.testing.assert_allclose(m.p_image[5], raw.proba[0][::-1])  # columns re-ordered to CLASSES


def test_gather_refuses_mismatched_ids(saved):
    other, _ = _split(seed=9)
    with pytest.raises(ValueError, match="rerun notebook 04"):
        gather("toy", other, "test", CLASSES)
    with pytest.raises(FileNotFoundError, match="04 for text, 05 for image"):
        gather("toy", saved["test"], "test", CLASSES, image_model="absent")


def test_image_calibration_table_and_scenarios(saved):
    val, test = gather("toy", saved["val"], "val", CLASSES), gather("toy", saved["test"], "test", CLASSES)
    T, table = calibrate_image(val, test)
    assert T < 1.0  # the saved image probabilities were softened on purpose
    assert table.set_index("split").loc["validation (fit)", "nll_after"] <= table.set_index("split").loc["validation (fit)", "nll_before"]
    comp = comparison_table(test, 0.6)
    both = comp[comp["subset"] == "both modalities"]
    assert both["rows"].eq(84).all()
    allrows = comp[comp["subset"] == "all rows"].set_index("model")
    assert allrows.loc["image", "answered"] == 85 and allrows.iloc[2]["answered"] == 90
    sc = missing_modality_scenarios(test, 0.6, drop_rate=0.3).set_index("scenario")
    assert sc.loc["no image at all", "rows_image_only"] == 0 and sc.loc["no text at all", "rows_text_only"] == 0
    assert sc.loc["as observed", "weighted_f1"] >= sc.loc["no image at all", "weighted_f1"]
    path = save_fusion_config("toy", 0.6, T, CLASSES)
    assert path.is_file() and load_fusion_config("toy")["alpha"] == 0.6
