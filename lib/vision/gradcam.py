"""Grad-CAM (Selvaraju et al., 2017) with forward/backward hooks on a CNN's last convolutional block."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def last_conv_layer(model: Any) -> Any:
    """The module whose output Grad-CAM explains: timm EfficientNet's `bn2` (conv_head + BN + activation),
    ResNet's `layer4`, else the last block."""
    for name in ("bn2", "layer4"):
        mod = getattr(model, name, None)
        if mod is not None and hasattr(mod, "register_forward_hook"):
            return mod
    from lib.vision.finetune import backbone_blocks

    return backbone_blocks(model)[-1]


def grad_cam(model: Any, x: Any, target_layer: Any | None = None, class_idx: Sequence[int] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Class-activation maps for a batch.

    Args:
        model: a classifier returning logits, input (n, 3, H, W).
        x: the normalised input batch (torch tensor).
        target_layer: the module to explain (default `last_conv_layer(model)`); its output must be (n, C, h, w).
        class_idx: the class to explain per image (default: the predicted class).
    Returns:
        (maps of shape (n, H, W) scaled to [0, 1] per image, explained class indices).
    """
    import torch
    import torch.nn.functional as F

    layer = target_layer if target_layer is not None else last_conv_layer(model)
    store: dict[str, Any] = {}

    def fwd_hook(_module: Any, _inp: Any, out: Any) -> None:
        store["act"] = out
        out.register_hook(lambda g: store.__setitem__("grad", g))

    handle = layer.register_forward_hook(fwd_hook)
    was_training = model.training
    model.eval()
    try:
        # the input requires grad so the hooked activation is in the graph even when the body is frozen
        device = next(model.parameters()).device
        x = x.detach().clone().to(device).requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
            idx = logits.argmax(1) if class_idx is None else torch.as_tensor(list(class_idx), device=device)
            model.zero_grad(set_to_none=True)
            logits.gather(1, idx.view(-1, 1)).sum().backward()
    finally:
        handle.remove()
        model.train(was_training)
    act, grad = store["act"].detach().cpu(), store["grad"].detach().cpu()
    if act.ndim != 4:
        raise ValueError(f"Grad-CAM needs a (n, C, h, w) activation, the target layer gave {tuple(act.shape)}")
    alpha = grad.mean(dim=(2, 3), keepdim=True)  # importance of each channel
    cam = F.relu((alpha * act).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
    lo = cam.flatten(1).min(1).values.view(-1, 1, 1)
    hi = cam.flatten(1).max(1).values.view(-1, 1, 1)
    cam = (cam - lo) / (hi - lo).clamp(min=1e-8)
    return cam.numpy(), idx.cpu().numpy()


def plot_grad_cam(cnn: Any, images: Sequence[Any], true_labels: Sequence[str] | None = None, alpha: float = 0.45):
    """Grad-CAM heat maps of a `CNNClassifier` overlaid on the images as the network sees them (letterboxed or
    centre-cropped, as the CNN predicts).

    Args:
        images: a few image paths or PIL images (one column each; decoded once here).
    """
    import matplotlib.pyplot as plt
    import torch

    from lib.vision.images import load_images

    images = load_images(images)  # a handful of examples: decoded once, shared by the maps and the plot
    bb = cnn.backbone
    framing = getattr(cnn.config, "framing", "center_crop")  # the framing the CNN predicts with
    x = torch.stack([bb.eval_transform(framing)(im) for im in images])
    maps, idx = grad_cam(cnn.model, x)
    proba = cnn.predict_proba(images)
    view = bb.frame_transform(framing)
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.6), squeeze=False)
    for i, im in enumerate(images):
        shown = np.asarray(view(im.convert("RGB")))
        axes[0][i].imshow(shown)
        axes[0][i].set_title(f"true: {true_labels[i]}" if true_labels is not None else "input", fontsize=8)
        axes[1][i].imshow(shown)
        axes[1][i].imshow(maps[i], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        axes[1][i].set_title(f"pred: {cnn.classes[idx[i]]} ({proba[i, idx[i]]:.2f})", fontsize=8)
        for ax in (axes[0][i], axes[1][i]):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0][0].set_ylabel("image (model input, px)")
    axes[1][0].set_ylabel("Grad-CAM overlay")
    fig.suptitle("Grad-CAM on the fine-tuned CNN's last conv block (red: regions that raise the predicted class)")
    fig.tight_layout()
    return fig
