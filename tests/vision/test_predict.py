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
