"""Fine-tuning a pretrained CNN with a new head: partial unfreezing, augmentation, class weights,
early stopping on validation loss, and a per-epoch train/validation history (to see overfitting).

Training and prediction take image paths (decoded batch by batch by a DataLoader: the photos are never all in
memory) or PIL images."""
from __future__ import annotations

import copy
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from lib.core.registry import ImageBackbone, load_image_backbone
from lib.vision.images import ImageListDataset

# Modules that sit after the last block (timm names): always trained with the new head.
_HEAD_MODULES = ("conv_head", "bn2", "norm", "fc_norm", "head_drop")


@dataclass
class FineTuneConfig:
    """Training recipe; on a CPU keep input_size small (96–160 px) and epochs few."""

    backbone: str = "efficientnet-lite0"
    input_size: int = 160
    epochs: int = 6
    batch_size: int = 32
    unfreeze_blocks: int = 2
    lr_head: float = 2e-3
    lr_body: float = 3e-4
    weight_decay: float = 1e-4
    patience: int = 2
    rotation: float = 20.0
    jitter: float = 0.2
    label_smoothing: float = 0.05
    framing: str = "letterbox"  # evaluation (validation, prediction) framing: "letterbox" or "center_crop"


def backbone_blocks(model: Any) -> list[Any]:
    """The model's sequence of main blocks (EfficientNet stages, ViT blocks or ResNet layers)."""
    if hasattr(model, "blocks"):
        return list(model.blocks)
    if all(hasattr(model, f"layer{i}") for i in range(1, 5)):
        return [getattr(model, f"layer{i}") for i in range(1, 5)]
    raise ValueError(f"do not know the blocks of {type(model).__name__}: add it to backbone_blocks()")


def set_trainable(model: Any, unfreeze_blocks: int) -> tuple[list[Any], list[Any]]:
    """Freeze everything, then unfreeze the last `unfreeze_blocks` blocks, the head modules and the classifier.

    Returns (body parameters, head parameters) that require gradients.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    blocks = backbone_blocks(model)
    if not 0 <= unfreeze_blocks <= len(blocks):
        raise ValueError(f"unfreeze_blocks must be in [0, {len(blocks)}], got {unfreeze_blocks}")
    body = []
    for block in blocks[len(blocks) - unfreeze_blocks:]:
        body += list(block.parameters())
    for name in _HEAD_MODULES:
        mod = getattr(model, name, None)
        if mod is not None and hasattr(mod, "parameters"):
            body += list(mod.parameters())
    head = list(model.get_classifier().parameters())
    for p in body + head:
        p.requires_grad_(True)
    return body, head


def _freeze_bn_of_frozen(model: Any) -> None:
    """Keep BatchNorm statistics of frozen parts fixed (train() would update them on tiny batches)."""
    from torch import nn

    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()


class CNNClassifier:
    """A fine-tuned backbone with its class list: `predict_proba(image paths or PIL images)`."""

    def __init__(self, backbone: ImageBackbone, classes: Sequence[str], config: FineTuneConfig):
        self.backbone = backbone
        self.classes = list(classes)
        self.config = config

    @property
    def model(self) -> Any:
        return self.backbone.model

    def logits(self, images: Sequence[Any], batch_size: int = 32, num_workers: int = 0) -> np.ndarray:
        """Raw logits for image paths or PIL images, decoded batch by batch; NaN rows for unreadable paths."""
        import torch
        from torch.utils.data import DataLoader

        ds = ImageListDataset(images, self.backbone.eval_transform(self.config.framing), self.backbone.input_size)
        out = np.full((len(ds), len(self.classes)), np.nan, dtype=np.float32)
        self.model.eval()
        device = next(self.model.parameters()).device
        loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
        with torch.inference_mode():
            for x, idx, ok, _ in loader:
                if ok.any():
                    out[idx[ok].numpy()] = self.model(x[ok].to(device)).float().cpu().numpy()
        return out

    def predict_proba(self, images: Sequence[Any], batch_size: int = 32, num_workers: int = 0) -> np.ndarray:
        """Softmax probabilities, columns in `classes` order (NaN rows for unreadable paths)."""
        z = self.logits(images, batch_size, num_workers)
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    def state(self) -> dict[str, Any]:
        """What `from_state` needs (state dict, class list, recipe) — for torch.save."""
        return {"state_dict": self.model.state_dict(), "classes": self.classes, "config": asdict(self.config)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "CNNClassifier":
        """Rebuild from `state()` (the backbone architecture comes from the registry, weights from the state)."""
        # a state saved before `framing` existed was validated on centre crops: keep predicting that way
        config = FineTuneConfig(**{"framing": "center_crop", **state["config"]})
        bb = build_cnn(len(state["classes"]), config.backbone, config.input_size)
        bb.model.load_state_dict(state["state_dict"])
        bb.model.eval()
        return cls(bb, state["classes"], config)


def build_cnn(n_classes: int, backbone: str = "efficientnet-lite0", input_size: int = 160) -> ImageBackbone:
    """A pretrained backbone (through the registry) with a fresh `n_classes` head."""
    return load_image_backbone(backbone, num_classes=n_classes, input_size=input_size)


def class_weights(y: Sequence[int], n_classes: int) -> np.ndarray:
    """Balanced class weights n / (k · count), 0 for absent classes."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=n_classes).astype(float)
    return np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)


def fine_tune(train_images: Sequence[Any], y_train: Sequence[int], val_images: Sequence[Any],
              y_val: Sequence[int], classes: Sequence[str], config: FineTuneConfig | None = None,
              seed: int = 42, progress: bool = True, num_workers: int = 0) -> tuple[CNNClassifier, pd.DataFrame]:
    """Fine-tune; return the classifier at its best validation-loss epoch and the per-epoch history.

    Args:
        train_images, val_images: image paths (decoded batch by batch, once per epoch: memory holds one batch)
            or PIL images. A path that cannot be read is left out of its batch (a warning counts them).
        y_train, y_val: class indices into `classes`.
        num_workers: DataLoader processes decoding and augmenting ahead of the model (0: in this process,
            which keeps the augmentation draws identical to a run on PIL images).
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    config = config or FineTuneConfig()
    torch.manual_seed(seed)
    n_classes = len(classes)
    bb = build_cnn(n_classes, config.backbone, config.input_size)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = bb.model.to(device)
    body, head = set_trainable(model, config.unfreeze_blocks)
    opt = torch.optim.AdamW([{"params": body, "lr": config.lr_body}, {"params": head, "lr": config.lr_head}],
                            weight_decay=config.weight_decay)
    weights = torch.tensor(class_weights(y_train, n_classes), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weights.to(device), label_smoothing=config.label_smoothing)
    train_ds = ImageListDataset(train_images, bb.train_transform(config.rotation, config.jitter), bb.input_size,
                                labels=y_train)
    val_ds = ImageListDataset(val_images, bb.eval_transform(config.framing), bb.input_size, labels=y_val)
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_ds, batch_size=config.batch_size, shuffle=True, generator=gen,
                              num_workers=num_workers)
    val_loader = DataLoader(val_ds, batch_size=64, shuffle=False, num_workers=num_workers)
    history, best_loss, best_state, waited = [], np.inf, None, 0
    skipped: set[tuple[str, int]] = set()
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        _freeze_bn_of_frozen(model)
        tot_loss, tot_ok, n = 0.0, 0, 0
        for x, idx, ok, y in tqdm(train_loader, desc=f"epoch {epoch}/{config.epochs}", disable=not progress,
                                  leave=False):
            if not ok.all():  # unreadable photos: not trained on as blank images
                skipped.update(("train", int(i)) for i in idx[~ok])
                x, y = x[ok], y[ok]
                if not len(y):
                    continue
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            opt.step()
            tot_loss += loss.item() * len(y)
            tot_ok += int((logits.argmax(1) == y).sum())
            n += len(y)
        model.eval()
        v_loss, v_ok, vn = 0.0, 0, 0
        with torch.inference_mode():
            for x, idx, ok, y in val_loader:
                if not ok.all():
                    skipped.update(("val", int(i)) for i in idx[~ok])
                    x, y = x[ok], y[ok]
                    if not len(y):
                        continue
                x, y = x.to(device), y.to(device)
                logits = model(x)
                # unweighted, unsmoothed loss: the number to compare across epochs and with training
                v_loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
                v_ok += int((logits.argmax(1) == y).sum())
                vn += len(y)
        row = {"epoch": epoch, "train_loss": tot_loss / max(n, 1), "train_accuracy": tot_ok / max(n, 1),
               "val_loss": v_loss / max(vn, 1), "val_accuracy": v_ok / max(vn, 1),
               "seconds": time.perf_counter() - t0}
        history.append(row)
        if progress:
            print(f"epoch {epoch}: train loss {row['train_loss']:.3f} acc {row['train_accuracy']:.3f} | "
                  f"val loss {row['val_loss']:.3f} acc {row['val_accuracy']:.3f} ({row['seconds']:.0f} s)")
        if row["val_loss"] < best_loss - 1e-4:
            best_loss, best_state, waited = row["val_loss"], copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
            if waited >= config.patience:
                break
    if skipped:
        n_tr = sum(1 for split, _ in skipped if split == "train")
        warnings.warn(f"fine_tune: {n_tr} training and {len(skipped) - n_tr} validation images could not be read "
                      "and were left out (filter the lists with audit_images() first)", stacklevel=2)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    hist = pd.DataFrame(history)
    hist["best"] = hist["val_loss"] == hist["val_loss"].min()
    return CNNClassifier(bb, classes, config), hist


def overfitting_note(history: pd.DataFrame) -> str:
    """A one-line reading of the train/validation curves."""
    last = history.iloc[-1]
    best = history.loc[history["val_loss"].idxmin()]
    gap = last["train_accuracy"] - last["val_accuracy"]
    parts = [f"best validation loss {best['val_loss']:.3f} at epoch {int(best['epoch'])} of {len(history)}"]
    if int(best["epoch"]) < len(history):
        parts.append("validation loss rose afterwards while training went on: overfitting, early stopping "
                     "kept the best epoch")
    if gap > 0.1:
        parts.append(f"train accuracy exceeds validation by {gap:.2f} at the last epoch")
    elif gap < -0.05:
        parts.append("validation accuracy exceeds training accuracy (augmented training batches are harder; "
                     "no sign of overfitting)")
    return "; ".join(parts)
