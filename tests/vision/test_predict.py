"""The saved image vote: save → load → same probabilities, as the app uses it."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core.registry import load_image_backbone
from lib.ensemble.voting import fit_soft_vote
from lib.vision.features import features_of_images
from lib.vision.classifiers import FeatureMLP, MLPConfig, make_feature_model
from lib.vision.finetune import FineTuneConfig, fine_tune
from lib.vision.predict import ImageVoteClassifier, load_image_classifier, save_image_classifier


@pytest.mark.slow
def test_image_vote_round_trip(tiny_images, isolated_outputs):
    images, y = tiny_images
    classes = ["disc", "bar"]
    X = features_of_images(images, load_image_backbone("efficientnet-lite0", input_size=64))
    mlp = FeatureMLP(MLPConfig(hidden=16, epochs=10), seed=0).fit(X[:16], y[:16], n_classes=2)
    lr = make_feature_model("logreg", 0).fit(X[:16], y[:16])
    cnn, _ = fine_tune(images[:16], y[:16], images[16:], y[16:], classes,
                       FineTuneConfig(input_size=64, epochs=1, batch_size=8, unfreeze_blocks=1), progress=False)
    val = {"cnn": cnn.predict_proba(images[16:]), "mlp": mlp.predict_proba(X[16:]), "logreg": lr.predict_proba(X[16:])}
    vote = fit_soft_vote(val, y[16:], step=0.25)
    clf = ImageVoteClassifier(classes, cnn, {"mlp": mlp, "logreg": lr}, vote, "efficientnet-lite0", 64)
    expected = clf.predict_proba(images[16:])
    np.testing.assert_allclose(expected, vote.predict_proba(val), atol=1e-5)
    folder = save_image_classifier(clf, "tiny")
    assert (folder / "meta.json").is_file() and str(isolated_outputs) in str(folder)
    loaded = load_image_classifier("tiny")
    assert loaded.classes == classes
    np.testing.assert_allclose(loaded.predict_proba(images[16:]), expected, atol=1e-5)
    assert loaded.predict(images[16:18]) == [classes[i] for i in expected[:2].argmax(1)]
    assert (loaded.feature_framing, loaded.feature_tta_flip) == ("letterbox", False)
    # a meta.json written before framing was recorded comes from centre-cropped features
    import json

    meta = json.loads((folder / "meta.json").read_text())
    del meta["feature_framing"], meta["feature_tta_flip"]
    (folder / "meta.json").write_text(json.dumps(meta))
    assert load_image_classifier("tiny").feature_framing == "center_crop"


def test_missing_classifier_names_the_notebook(isolated_outputs):
    with pytest.raises(FileNotFoundError, match="05_products_image_voting"):
        load_image_classifier("nothing_here")


def test_vote_members_must_be_given():
    vote = fit_soft_vote({"mlp": np.eye(2), "cnn": np.eye(2)}, np.array([0, 1]))
    with pytest.raises(ValueError, match="not given"):
        ImageVoteClassifier(["a", "b"], None, {}, vote)


def _untrained_vote(images, y):
    """A vote of a (fresh-headed) CNN and a logistic regression on features: cheap, and enough to compare inputs."""
    import torch

    from lib.vision.finetune import CNNClassifier, build_cnn

    classes = ["disc", "bar"]
    torch.manual_seed(0)
    cnn = CNNClassifier(build_cnn(2, input_size=64), classes, FineTuneConfig(input_size=64))
    X = features_of_images(images, load_image_backbone("efficientnet-lite0", input_size=64))
    lr = make_feature_model("logreg", 0).fit(X[:16], y[:16])
    val = {"cnn": cnn.predict_proba(images[16:]), "logreg": lr.predict_proba(X[16:])}
    return ImageVoteClassifier(classes, cnn, {"logreg": lr}, fit_soft_vote(val, y[16:], step=0.25),
                               "efficientnet-lite0", 64)


def test_vote_from_paths_in_batches_matches_pil_images(tiny_images, tiny_image_files, count_decodes):
    images, y = tiny_images
    clf = _untrained_vote(images, y)
    from_images = clf.predict_with_members(images[16:])
    count_decodes.clear()
    from_files = clf.predict_with_members(tiny_image_files[16:], batch_size=3)
    assert count_decodes == tiny_image_files[16:]  # each photo decoded once for all members
    assert set(from_files) == {"cnn", "logreg", "vote"}
    for name, p in from_images.items():
        assert from_files[name].shape == (8, 2)
        np.testing.assert_allclose(from_files[name], p, atol=1e-5)
    assert clf.predict(tiny_image_files[16:18]) == [clf.classes[i] for i in from_images["vote"][:2].argmax(1)]


def test_vote_names_an_unreadable_photo(tiny_images, image_files):
    images, y = tiny_images
    clf = _untrained_vote(images, y)
    with pytest.raises(ValueError, match="is unreadable"):
        clf.predict_proba(image_files["ok"][:1] + image_files["unreadable"])


@pytest.mark.slow
def test_members_on_two_representations_and_an_ocr_member_round_trip(tiny_images, isolated_outputs):
    """Each feature member is fed the features it was trained on (its own backbone/size/framing/flip), the OCR
    member the text Tesseract reads, and all of it survives save → load."""
    from lib.vision.members import MemberSpec
    from lib.vision.ocr import OcrTextClassifier, require_tesseract

    try:
        require_tesseract("eng")
    except RuntimeError as err:
        pytest.skip(f"Tesseract not installed: {err}")
    images, y = tiny_images
    classes = ["disc", "bar"]
    a = MemberSpec("lr_a", "efficientnet-lite0", 64)
    b = MemberSpec("lr_b", "efficientnet-lite0", 48, framing="center_crop", flip=True)
    models = {}
    val = {}
    for spec in (a, b):
        X = features_of_images(images, load_image_backbone(spec.backbone, input_size=spec.input_size),
                               framing=spec.framing, tta_flip=spec.flip)
        models[spec.name] = make_feature_model("logreg", 0).fit(X[:16], y[:16])
        val[spec.name] = models[spec.name].predict_proba(X[16:])
    ocr = OcrTextClassifier(seed=0, n_classes=2).fit(["round disc", "long bar"] * 8, y[:16])
    val["ocr"] = ocr.predict_proba([""] * 8)  # the tiny shapes carry no text: the member gives the prior
    vote = fit_soft_vote(val, y[16:], step=0.25)
    vote.weights = [0.4, 0.4, 0.2]  # every member used, whatever the search picked on 8 rows
    clf = ImageVoteClassifier(classes, None, models, vote, member_specs={"lr_a": a, "lr_b": b}, ocr_member=ocr,
                              ocr_settings={"lang": "eng"})
    assert clf.representations == [a.features, b.features]
    got = clf.predict_with_members(images[16:])
    for name in val:
        np.testing.assert_allclose(got[name], val[name], atol=1e-5)
    save_image_classifier(clf, "tiny2")
    loaded = load_image_classifier("tiny2")
    assert loaded.member_specs["lr_b"] == b and loaded.ocr_settings == {"lang": "eng"}
    np.testing.assert_allclose(loaded.predict_proba(images[16:]), got["vote"], atol=1e-5)
