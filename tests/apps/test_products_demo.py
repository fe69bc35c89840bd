"""The Streamlit demo (AppTest) and its backend: pages render from saved artefacts, fusion of one listing, the vote's
members, the OCR text and the Explain page (Grad-CAM, n-gram contributions, LIME)."""
from __future__ import annotations

import io

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


def _clear_app_caches() -> None:
    """Every test saves its own "demo" artefacts: nothing cached under that name may leak between tests."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


def test_app_pages_render_from_saved_artefacts(artefacts):
    from streamlit.testing.v1 import AppTest

    _clear_app_caches()
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


# ----------------------------------------------------------------------------------------------------------
# The image vote's members, the OCR text and the Explain page
# ----------------------------------------------------------------------------------------------------------

def _tesseract_available() -> bool:
    try:
        from lib.vision.ocr import require_tesseract

        require_tesseract("fra")
        return True
    except Exception:  # not installed (OCRUnavailable) or lib.vision.ocr not importable
        return False


def _pool_photo() -> bytes:
    """A blue pool above PISCINE printed large on white, as PNG bytes (a light label enclosed in a dark shape is
    taken for part of a picture by Tesseract and not read, see lib.products.demo)."""
    from pathlib import Path

    import matplotlib
    from PIL import ImageDraw, ImageFont

    im = Image.new("RGB", (240, 240), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle([20, 15, 220, 120], fill=(30, 60, 200))
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"), 36)
    draw.text((40, 160), "PISCINE", fill=(0, 0, 0), font=font)
    return _png(im)


@pytest.fixture()
def image_vote(artefacts):
    """A small vote saved the way notebook 05 saves it: an (untrained-head) CNN, a logistic regression on Lite0
    features of a few demo photos, and an OCR member when Tesseract is installed; plus notebook 06's fusion.json."""
    import torch

    from lib.core.registry import load_image_backbone
    from lib.ensemble.voting import SoftVote
    from lib.products.fusion_study import save_fusion_config
    from lib.vision.classifiers import make_feature_model
    from lib.vision.features import features_of_images
    from lib.vision.finetune import CNNClassifier, FineTuneConfig, build_cnn
    from lib.vision.members import MemberSpec
    from lib.vision.ocr import OcrTextClassifier
    from lib.vision.predict import ImageVoteClassifier, save_image_classifier

    data, model = artefacts
    classes = list(model.classes)
    rows = data.df[data.df["image_path"].notna()].groupby("label").head(2)
    y = np.array([classes.index(str(c)) for c in rows["label"]])
    assert sorted(set(y)) == list(range(len(classes))), "every class needs a photo for the member's columns"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        cnn = CNNClassifier(build_cnn(len(classes), input_size=64), classes, FineTuneConfig(input_size=64))
        spec = MemberSpec("logreg_lite0", "efficientnet-lite0", 64)
        X = features_of_images(list(rows["image_path"]), load_image_backbone("efficientnet-lite0", input_size=64))
    finally:
        torch.set_num_threads(threads)
    logreg = make_feature_model("logreg", 0).fit(X, y)
    members, weights, ks, ocr = ["logreg_lite0", "cnn"], [0.6, 0.4], [1.0, 1.0], None
    if _tesseract_available():
        texts = ["piscine chlore" if c == "2583" else f"article {c}" for c in np.array(classes)[y]]
        ocr = OcrTextClassifier(seed=0, n_classes=len(classes)).fit(texts, y)
        members, weights, ks = [*members, "ocr"], [0.5, 0.25, 0.25], [1.0, 1.0, 2.0]
    clf = ImageVoteClassifier(classes, cnn, {"logreg_lite0": logreg}, SoftVote(members, weights, ks),
                              member_specs={"logreg_lite0": spec}, ocr_member=ocr,
                              ocr_settings={"lang": "fra+eng"} if ocr is not None else None)
    save_image_classifier(clf, data.name)
    save_fusion_config(data.name, 0.4, 1.0, classes)
    return clf


def test_image_members_and_their_table(artefacts, image_vote):
    _, model = artefacts
    photo = Image.open(io.BytesIO(_pool_photo()))
    members = backend.image_members(image_vote, photo)
    expected = image_vote.predict_with_members([photo.convert("RGB")])
    assert set(members.probas) == set(image_vote.vote.members) | {"vote"}
    for name, p in expected.items():
        np.testing.assert_allclose(members.probas[name], p[0])
    assert members.weights == dict(zip(image_vote.vote.members, image_vote.vote.weights))
    if _tesseract_available():
        assert "PISCINE" in members.ocr_text.upper() and members.ocr_note == ""
    table = backend.members_table(members, top=3)
    assert list(table["member"]) == [*image_vote.vote.members, "vote"]
    top3 = [members.classes[i] for i in np.argsort(-members.probas["vote"])[:3]]
    assert list(table.columns) == ["member", "weight", "k", "top class", *top3]
    assert table.loc[table["member"] == "vote", top3[0]].item() == pytest.approx(members.probas["vote"].max())
    assert np.isnan(table.loc[table["member"] == "vote", "weight"].item())
    # the fused listing uses the vote's probabilities (columns re-ordered to the text model's classes)
    pred = backend.predict_listing(model, image_vote, "", "", photo, 1.0, members=members)
    assert pred.status == "image only" and pred.members is members
    np.testing.assert_allclose(pred.p_image, members.aligned("vote", model.classes))


def test_image_members_say_why_there_is_no_ocr_text(artefacts, image_vote, monkeypatch):
    from lib.vision.ocr import OCRUnavailable

    def no_tesseract(images):
        raise OCRUnavailable("Tesseract is not installed: apt-get install tesseract-ocr")

    monkeypatch.setattr(image_vote.vote, "members", [m for m in image_vote.vote.members if m != "ocr"])
    monkeypatch.setattr(image_vote.vote, "weights", [0.6, 0.4])
    monkeypatch.setattr(image_vote.vote, "ks", [1.0, 1.0])
    monkeypatch.setattr(image_vote, "ocr_texts", no_tesseract)
    members = backend.image_members(image_vote, Image.new("RGB", (64, 64), (20, 40, 220)))
    assert members.ocr_text is None and "tesseract-ocr" in members.ocr_note
    assert set(members.probas) == {"logreg_lite0", "cnn", "vote"}


def test_live_demo_shows_members_and_ocr_and_the_explain_page_explains(artefacts, image_vote):
    from streamlit.testing.v1 import AppTest

    _clear_app_caches()
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="page").set_value("Live demo").run()
    assert at.slider(key="alpha").value == 0.4  # notebook 06's weight from fusion.json
    at.text_input(key="designation").set_value("Robot de piscine skimmer chlore")
    at.file_uploader(key="photo").set_value(("pool.png", _pool_photo(), "image/png")).run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["predicted class", "text model", "image vote"]
    assert at.metric[0].value == at.metric[1].value == "2583"
    assert any("notebook 06 chose a = 0.40" in c.value for c in at.caption)
    # members × top classes, with the vote's weights
    tables = [df.value for df in at.dataframe if "member" in df.value.columns]
    assert len(tables) == 1
    table = tables[0]
    assert list(table["member"]) == [*image_vote.vote.members, "vote"]
    assert list(table["weight"].iloc[:-1]) == pytest.approx(image_vote.vote.weights)
    assert table.shape[1] == 4 + 5  # member, weight, k, top class + the vote's 5 most probable classes
    assert any("each member" in h.value for h in at.subheader)
    # the OCR text read on the photo
    if _tesseract_available():
        ocr = [t for t in at.text_area if "Tesseract" in t.label]
        assert len(ocr) == 1 and "PISCINE" in ocr[0].value.upper()
    else:
        assert any("No OCR" in w.value for w in at.warning)

    # the Explain page: same listing (the keyed inputs carry over), Grad-CAM, n-gram contributions, LIME
    at.radio(key="page").set_value("Explain").run()
    assert not at.exception, at.exception
    assert at.text_input(key="designation").value == "Robot de piscine skimmer chlore"
    heads = [h.value for h in at.subheader]
    assert "Photo: Grad-CAM of the CNN member" in heads and "Text: n-gram contributions" in heads
    fused = at.selectbox(key="explain_class").value
    assert any(f"raise the score of {fused}" in c.value for c in at.caption)  # Grad-CAM of the fused class
    assert len(at.image) >= 2  # the Grad-CAM figure and the n-gram chart
    ngrams = [df.value for df in at.dataframe if "contribution" in df.value.columns]
    assert len(ngrams) == 1 and ngrams[0]["contribution"].is_monotonic_decreasing
    assert {"piscine", "chlore"} & set(ngrams[0]["ngram"])
    other = [o for o in at.selectbox(key="explain_class").options if not o.startswith(fused)][0].split(" ")[0]
    at.selectbox(key="explain_class").set_value(other).run()
    assert not at.exception, at.exception
    assert any(f"raise the score of {other}" in c.value for c in at.caption)
    assert not any("word" in df.value.columns for df in at.dataframe)  # LIME waits for its toggle
    at.toggle(key="lime").set_value(True).run()
    assert not at.exception, at.exception
    lime = [df.value for df in at.dataframe if "word" in df.value.columns]
    assert len(lime) == 1 and len(lime[0]) >= 3 and set(lime[0]["class"]) == {"2583"}
    assert lime[0]["weight"].abs().is_monotonic_decreasing


def test_explain_page_without_photo_or_image_model(artefacts):
    from streamlit.testing.v1 import AppTest

    _clear_app_caches()
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.radio(key="page").set_value("Explain").run()
    assert not at.exception, at.exception
    assert any("No photo" in i.value for i in at.info)
    assert any("contribution" in df.value.columns for df in at.dataframe)
    at.file_uploader(key="photo").set_value(("blue.png", _png(Image.new("RGB", (32, 32), (20, 40, 220))),
                                             "image/png")).run()
    assert not at.exception, at.exception
    assert any("05_products_image_voting" in w.value for w in at.warning)  # no saved vote: says what to run


def _png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
