"""Fine-tuning: partial unfreezing, the loop lowers the training loss, the state round-trips."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core.registry import load_image_backbone
from lib.vision.finetune import CNNClassifier, FineTuneConfig, class_weights, fine_tune, overfitting_note, set_trainable


def test_set_trainable_unfreezes_only_the_last_blocks_and_the_head():
    model = load_image_backbone("efficientnet-lite0", num_classes=4, input_size=64).model
    body, head = set_trainable(model, 2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(n.startswith("blocks.6.") for n in trainable) and any(n.startswith("blocks.5.") for n in trainable)
    assert not any(n.startswith(("blocks.4.", "blocks.0.", "conv_stem")) for n in trainable)
    assert "classifier.weight" in trainable and "conv_head.weight" in trainable
    assert len(body) + len(head) == len(trainable)
    with pytest.raises(ValueError):
        set_trainable(model, 99)


def test_class_weights_are_balanced():
    w = class_weights([0, 0, 0, 1], 3)
    np.testing.assert_allclose(w, [4 / 9, 4 / 3, 0.0])


@pytest.mark.slow
def test_fine_tune_lowers_training_loss_and_round_trips(tiny_images):
    images, y = tiny_images
    cfg = FineTuneConfig(input_size=64, epochs=3, batch_size=8, unfreeze_blocks=1, lr_head=1e-2, patience=5,
                         rotation=10)
    cnn, hist = fine_tune(images[:16], y[:16], images[16:], y[16:], ["disc", "bar"], cfg, seed=0, progress=False)
    assert len(hist) == 3
    assert hist["train_loss"].iloc[-1] < hist["train_loss"].iloc[0]
    assert hist["best"].sum() == 1 and "best validation loss" in overfitting_note(hist)
    p = cnn.predict_proba(images[16:])
    assert p.shape == (8, 2)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    again = CNNClassifier.from_state(cnn.state())
    np.testing.assert_allclose(again.predict_proba(images[16:]), p, atol=1e-5)
    assert again.classes == ["disc", "bar"]
    assert cnn.config.framing == again.config.framing == "letterbox"  # product photos: letterboxed by default
    old = cnn.state()
    del old["config"]["framing"]  # a state saved before framing existed was validated on centre crops
    assert CNNClassifier.from_state(old).config.framing == "center_crop"


def _tiny_config(**kw):
    return FineTuneConfig(**{"input_size": 64, "epochs": 1, "batch_size": 8, "unfreeze_blocks": 1, **kw})


@pytest.mark.slow
def test_fine_tune_from_paths_gives_the_numbers_of_pil_images(tiny_images, tiny_image_files):
    images, y = tiny_images
    classes = ["disc", "bar"]
    on_files, hist_files = fine_tune(tiny_image_files[:16], y[:16], tiny_image_files[16:], y[16:], classes,
                                     _tiny_config(), seed=0, progress=False)
    on_images, hist_images = fine_tune(images[:16], y[:16], images[16:], y[16:], classes, _tiny_config(), seed=0,
                                       progress=False)
    assert len(hist_files) == 1  # one epoch over the files
    cols = ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(hist_files[cols].to_numpy(), hist_images[cols].to_numpy(), rtol=1e-4)
    p = on_files.predict_proba(tiny_image_files[16:], batch_size=3)
    assert p.shape == (8, 2) and np.isfinite(p).all()
    np.testing.assert_allclose(p, on_images.predict_proba(images[16:]), atol=1e-4)
    np.testing.assert_allclose(on_images.predict_proba(tiny_image_files[16:]), on_images.predict_proba(images[16:]),
                               atol=1e-5)


@pytest.mark.slow
def test_fine_tune_leaves_unreadable_photos_out_and_predicts_nan_for_them(image_files):
    train = image_files["ok"][:4] + image_files["unreadable"] + image_files["missing"][:1]
    with pytest.warns(UserWarning, match="2 training and 0 validation images could not be read"):
        cnn, hist = fine_tune(train, [0, 1, 0, 1, 0, 1], image_files["ok"][4:6], [0, 1], ["disc", "bar"],
                              _tiny_config(epochs=2, patience=5), seed=0, progress=False)
    assert len(hist) == 2 and np.isfinite(hist[["train_loss", "val_loss"]].to_numpy()).all()
    p = cnn.predict_proba(image_files["ok"][4:6] + image_files["unreadable"])
    assert np.isfinite(p[:2]).all() and np.isnan(p[2]).all()
