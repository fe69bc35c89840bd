"""Grad-CAM: one map per image, input-sized, scaled to [0, 1]."""
from __future__ import annotations

import numpy as np
import torch

from lib.core.registry import load_image_backbone
from lib.vision.gradcam import grad_cam, last_conv_layer


def test_grad_cam_shape_and_range(tiny_images):
    images, _ = tiny_images
    # the fresh head is random: with some draws the predicted class has no positive gradient anywhere and the
    # map is all zero (ReLU), so the draw is fixed
    torch.manual_seed(0)
    bb = load_image_backbone("efficientnet-lite0", num_classes=3, input_size=64)
    x = torch.stack([bb.eval_transform()(im) for im in images[:2]])
    maps, idx = grad_cam(bb.model, x)
    assert maps.shape == (2, 64, 64)
    assert maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6
    assert np.isclose(maps.reshape(2, -1).max(1), 1.0).all()
    assert idx.shape == (2,) and ((0 <= idx) & (idx < 3)).all()
    assert last_conv_layer(bb.model) is bb.model.bn2


def test_grad_cam_explains_the_requested_class_and_leaves_no_hooks(tiny_images):
    images, _ = tiny_images
    bb = load_image_backbone("efficientnet-lite0", num_classes=3, input_size=64)
    x = torch.stack([bb.eval_transform()(images[0])])
    _, idx = grad_cam(bb.model, x, class_idx=[2])
    assert idx.tolist() == [2]
    assert not bb.model.bn2._forward_hooks


def test_grad_cam_on_a_toy_net_points_at_the_bright_square():
    # conv → ReLU → global average → linear: the class score grows with the square's activation,
    # so the map must peak inside the square
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, padding=1, bias=False), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(1, 2))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[4].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 2:6, 9:13] = 1.0
    maps, _ = grad_cam(net, x, target_layer=net[1], class_idx=[0])
    r, c = np.unravel_index(maps[0].argmax(), maps[0].shape)
    assert 2 <= r <= 5 and 9 <= c <= 12


def test_plot_grad_cam_takes_paths_like_pil_images(tiny_images, tiny_image_files):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lib.vision.finetune import CNNClassifier, FineTuneConfig, build_cnn
    from lib.vision.gradcam import plot_grad_cam

    torch.manual_seed(0)
    cnn = CNNClassifier(build_cnn(2, input_size=64), ["disc", "bar"], FineTuneConfig(input_size=64))
    labels = ["disc", "bar"]
    from_files = plot_grad_cam(cnn, tiny_image_files[:2], labels)
    from_images = plot_grad_cam(cnn, tiny_images[0][:2], labels)
    try:
        assert [a.get_title() for a in from_files.axes] == [a.get_title() for a in from_images.axes]
        overlay_files = from_files.axes[2].images[1].get_array()  # second row, first column: the heat map
        np.testing.assert_allclose(overlay_files, from_images.axes[2].images[1].get_array(), atol=1e-5)
        assert overlay_files.shape == (64, 64)
    finally:
        plt.close(from_files)
        plt.close(from_images)
