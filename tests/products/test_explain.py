"""Explaining one listing: n-gram contributions (sign, order, sum = score), LIME, Grad-CAM of the CNN member."""
from __future__ import annotations

import numpy as np
import pytest

from lib.products.explain import (GradCamView, grad_cam_view, lime_explanation, ngram_contributions,
                                  plot_contributions, plot_grad_cam_view)
from lib.products.text_model import fit_calibrated_text_model, make_text_pipeline

POOL = ["pompe piscine chlore", "robot piscine skimmer", "bâche piscine ronde", "chlore piscine galets"]
TABLE = ["table basse chêne", "table bois massif", "table ronde verre", "pied de table chêne"]
BOOK = ["roman policier poche", "livre roman jeunesse", "bande dessinée tome", "roman fantastique broché"]
TEXTS = POOL * 3 + TABLE * 3 + BOOK * 3
LABELS = ["pool"] * 12 + ["table"] * 12 + ["book"] * 12


@pytest.fixture(scope="module")
def pipeline():
    return make_text_pipeline("LinearSVC", seed=0).fit(TEXTS, LABELS)


def test_contributions_sign_order_and_sum(pipeline):
    text = "pompe piscine chlore pour table"
    t = ngram_contributions(pipeline, text, "pool", k=50)
    assert t.attrs["class"] == "pool"
    assert t["contribution"].is_monotonic_decreasing  # towards the class first, most negative last
    assert (t["direction"] == np.where(t["contribution"] > 0, "towards", "against")).all()
    np.testing.assert_allclose(t["contribution"], t["tfidf"] * t["weight"])
    words = t[t["kind"] == "word"].set_index("ngram")["contribution"]
    assert words["piscine"] > 0 and words["chlore"] > 0 and words["table"] < 0
    assert t[t["kind"] == "word"].iloc[0]["ngram"] in {"piscine", "chlore", "pompe", "pompe piscine", "piscine chlore"}
    # score = Σ contributions + intercept, the model's decision function for that class
    score = pipeline.decision_function([text])[0][list(pipeline.classes_).index("pool")]
    assert t.attrs["score"] == pytest.approx(score)
    # for the table class the same words flip sign
    other = ngram_contributions(pipeline, text, "table", k=50).query("kind == 'word'").set_index("ngram")
    assert other.loc["table", "contribution"] > 0 and other.loc["piscine", "contribution"] < 0


def test_contributions_keep_k_per_side_and_default_to_the_predicted_class(pipeline):
    t = ngram_contributions(pipeline, "roman policier et table basse", k=3)
    assert t.attrs["class"] == pipeline.predict(["roman policier et table basse"])[0]
    assert (t["direction"] == "towards").sum() == 3 and (t["direction"] == "against").sum() == 3
    with pytest.raises(ValueError, match="not one of"):
        ngram_contributions(pipeline, "roman", "nope")
    fig = plot_contributions(t)
    assert "for class" in fig.axes[0].get_title() and len(fig.axes[0].patches) == 6


def test_contributions_of_a_calibrated_binary_model():
    y = ["pool" if lab == "pool" else "other" for lab in LABELS]
    model = fit_calibrated_text_model(TEXTS, y, TEXTS, y)
    for cls in ("pool", "other"):
        t = ngram_contributions(model, "robot piscine", cls, k=50)
        d = model.pipeline.decision_function(["robot piscine"])[0]  # the margin of classes_[1]
        expected = d if cls == model.classes[1] else -d
        assert t.attrs["score"] == pytest.approx(expected)
    assert ngram_contributions(model, "robot piscine").attrs["class"] == "pool"


def test_lime_finds_the_deciding_word():
    model = fit_calibrated_text_model(TEXTS, LABELS, TEXTS, LABELS)
    t = lime_explanation(model, "superbe piscine rouge", num_samples=200, num_features=3)
    assert list(t.columns) == ["word", "weight", "class"]
    assert set(t["class"]) == {"pool"} and t.iloc[0]["word"] == "piscine" and t.iloc[0]["weight"] > 0
    assert t["weight"].abs().is_monotonic_decreasing


def test_grad_cam_view_of_one_photo():
    import torch
    from PIL import Image

    from lib.vision.finetune import CNNClassifier, FineTuneConfig, build_cnn

    torch.manual_seed(0)
    cnn = CNNClassifier(build_cnn(3, input_size=64), ["a", "b", "c"], FineTuneConfig(input_size=64))
    photo = Image.new("RGB", (120, 80), (240, 240, 240))
    photo.paste((200, 30, 30), (40, 20, 80, 60))
    top = grad_cam_view(cnn, photo)
    p = cnn.predict_proba([photo])[0]
    assert isinstance(top, GradCamView) and top.class_name == cnn.classes[int(p.argmax())]
    assert top.image.shape == (64, 64, 3) and top.heatmap.shape == (64, 64)
    assert 0.0 <= top.heatmap.min() and top.heatmap.max() <= 1.0 + 1e-6
    asked = grad_cam_view(cnn, photo, "c")
    assert asked.class_name == "c" and asked.probability == pytest.approx(p[2], abs=1e-5)
    with pytest.raises(ValueError, match="not one of"):
        grad_cam_view(cnn, photo, "z")
    fig = plot_grad_cam_view(top)
    assert "Grad-CAM for" in fig.axes[1].get_title()
