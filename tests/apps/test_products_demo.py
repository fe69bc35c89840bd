"""The Streamlit demo (AppTest) and its backend: pages render from saved artefacts, fusion of one listing."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lib.core.paths import project_root
from lib.products import app_backend as backend
from lib.products.artifacts import save_labels, save_model, save_probs
from lib.products.data import load_products, split_products
from lib.products.text_model import fit_calibrated_text_model

APP = str(project_root() / "apps" / "products_demo.py")


@pytest.fixture()
def artefacts(isolated_outputs):
    """A small text model trained on the demo catalogue and saved the way notebook 04 saves it."""
    data = load_products("", "flipkart", seed=3, demo_rows=300)
    s = split_products(data.df, seed=3)
    model = fit_calibrated_text_model(s["train"]["text"], s["train"]["label"], s["val"]["text"], s["val"]["label"])
    save_model(data.name, "text_model", model, title=data.title, source=data.source, report=data.report,
               class_counts=data.df["label"].value_counts().to_dict())
    te = s["test"]
    save_probs(data.name, "text", "test", te["id"], model.predict_proba(te["text"]), model.classes)
    save_labels(data.name, "test", te["id"], te["label"])
    return data, model


class _ColourImageModel:
    """Test double for notebook 05's image vote: says "2583" (pool) for blue photos, "1560" otherwise."""

    def __init__(self, classes):
        self.classes = list(classes)

    def predict_proba(self, images):
        out = np.full((len(images), len(self.classes)), 0.02)
        for r, im in enumerate(images):
            red, green, blue = np.asarray(im, dtype=float).reshape(-1, 3).mean(0)
            out[r, self.classes.index("2583" if blue > red else "1560")] = 1.0
        return out / out.sum(1, keepdims=True)


def test_predict_listing_fuses_and_survives_missing_modalities(artefacts):
    data, model = artefacts
    img_model = _ColourImageModel(model.classes)
    blue = Image.new("RGB", (32, 32), (20, 40, 220))
    text_only = backend.predict_listing(model, img_model, "Pompe de filtration piscine hors-sol", "", None, 0.5)
    assert text_only.status == "text only" and text_only.p_image is None
    np.testing.assert_allclose(text_only.p_fused, text_only.p_text)
    assert text_only.top("fused", 1)[0][0] == "2583"
    image_only = backend.predict_listing(model, img_model, "", "", blue, 0.3)
    assert image_only.status == "image only" and image_only.top("fused", 1)[0][0] == "2583"
    both = backend.predict_listing(model, img_model, "Table basse en chêne", "bois massif", blue, 0.5)
    np.testing.assert_allclose(both.p_fused, 0.5 * both.p_image + 0.5 * both.p_text)
    nothing = backend.predict_listing(model, img_model, " ", "", None, 0.5)
    assert nothing.status == "none"


def test_app_pages_render_from_saved_artefacts(artefacts):
    from streamlit.testing.v1 import AppTest

    import streamlit as st

    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="dataset").value == "demo"
    assert any("SYNTHETIC" in w.value for w in at.warning)
    at.radio(key="page").set_value("Live demo").run()
    assert not at.exception, at.exception
    at.text_input(key="designation").set_value("Robot de piscine skimmer chlore").run()
    assert at.metric[0].value == "2583"
    assert at.slider(key="alpha").value == 0.5  # no notebook-06 settings: the default weight
    at.radio(key="page").set_value("Performance").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cm_model").options == ["text"]  # no image probabilities saved
    assert not any("nested cross-validation" in h.value for h in at.subheader)
    # notebook 06's metrics with its nested-CV ablation: the page shows it
    import json

    from lib.core.paths import metrics_dir

    metrics_dir().mkdir(parents=True, exist_ok=True)
    (metrics_dir() / "06_products_fusion.json").write_text(json.dumps({
        "profile": "smoke", "data": {"name": "demo", "source": "demo"}, "headline": {"fusion_weighted_f1": 0.9},
        "extra": {"nested_cv_ablation": [{"text variant": "designation only", "text_weighted_f1": 0.8,
                                          "fusion_weighted_f1": 0.85, "gain_over_best_single": 0.05}]}}))
    at.run()
    assert not at.exception, at.exception
    assert any("nested cross-validation" in h.value for h in at.subheader)
    assert any("designation only" in df.value.to_string() for df in at.dataframe)
    at.radio(key="page").set_value("Models").run()
    assert not at.exception and any("05_products_image_voting" in i.value for i in at.info)


def test_app_without_models_says_what_to_run(isolated_outputs):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30).run()
    assert at.error and "run_all.sh" in at.error[0].value
