"""CNN featurisation of image bytes in Spark: weights broadcast once, batched inference in a pandas UDF.

The driver loads the backbone through the registry (`efficientnet-lite0` offline, or a timm name where its
weights are reachable), cuts the classifier (`num_classes=0` → pooled features, 1,280-d for both
EfficientNet-Lite0 and MobileNetV2) and broadcasts its state dict. Each Python worker rebuilds the timm
architecture once, loads the broadcast weights, and keeps the model for the following tasks
(`spark.python.worker.reuse`). Images go through the same preprocessing as `ImageBackbone.eval_transform`, with
the ImageNet centre crop by default (the Fruits photos are square, centred on white; `framing="letterbox"` is
the products' framing).

`featurize_bytes` is the plain single-process path on the same preprocessing and model: the reference
that tests compare the UDF with and the benchmark's baseline.
"""
from __future__ import annotations

import io
import os
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FeaturizerSpec:
    """Everything a worker needs besides the weights to rebuild the backbone and its preprocessing."""

    name: str  # registry name (e.g. "efficientnet-lite0")
    arch: str  # timm architecture (e.g. "tf_efficientnet_lite0")
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_pct: float
    feature_dim: int
    channels_last: bool = True  # NHWC is ~1.5x faster for these depthwise CNNs on x86 CPUs
    framing: str = "center_crop"  # `ImageBackbone.eval_transform` framing: "center_crop" or "letterbox"


def load_backbone_payload(name: str = "efficientnet-lite0", input_size: int | None = None,
                          framing: str = "center_crop") -> tuple[FeaturizerSpec, dict[str, np.ndarray], Any]:
    """Load a backbone through the registry, without its classifier (`framing`: the eval transform's framing).

    Returns:
        (spec, state dict as numpy arrays — what gets broadcast, the `ImageBackbone` itself).
    """
    from lib.core.registry import load_image_backbone

    bb = load_image_backbone(name, num_classes=0, input_size=input_size)
    arch = bb.meta.get("timm_arch") or bb.model.default_cfg.get("architecture")
    spec = FeaturizerSpec(name=name, arch=str(arch), input_size=int(bb.input_size), mean=tuple(bb.mean),
                          std=tuple(bb.std), crop_pct=float(bb.crop_pct), feature_dim=int(bb.feature_dim),
                          framing=framing)
    state = {k: v.detach().cpu().numpy() for k, v in bb.model.state_dict().items()}
    return spec, state, bb


def build_model(spec: FeaturizerSpec, state: dict[str, np.ndarray]) -> Any:
    """Rebuild the feature extractor from its timm architecture and the broadcast weights (strict)."""
    import timm
    import torch

    model = timm.create_model(spec.arch, pretrained=False, num_classes=0)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, strict=True)
    model.eval()
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def build_transform(spec: FeaturizerSpec) -> Any:
    """The registry's eval transform (framed as `spec.framing`: centre crop by default; normalised) for this spec."""
    from lib.core.registry import ImageBackbone

    return ImageBackbone(name=spec.name, model=None, feature_dim=spec.feature_dim, input_size=spec.input_size,
                         mean=spec.mean, std=spec.std, crop_pct=spec.crop_pct).eval_transform(spec.framing)


def _decode(content: bytes | None, transform: Any) -> Any:
    from PIL import Image

    if content is None:
        return None
    try:
        with Image.open(io.BytesIO(bytes(content))) as im:
            return transform(im)
    except Exception:  # a corrupt file gives a null vector, counted downstream; never kills the job
        return None


def featurize_contents(model: Any, transform: Any, contents: Iterable[bytes | None], batch_size: int = 64,
                       channels_last: bool = True) -> list[np.ndarray | None]:
    """Features of each image (None for undecodable ones), by batches of `batch_size`."""
    import torch

    tensors = [_decode(c, transform) for c in contents]
    out: list[np.ndarray | None] = [None] * len(tensors)
    ok = [i for i, t in enumerate(tensors) if t is not None]
    with torch.inference_mode():
        for start in range(0, len(ok), max(1, int(batch_size))):
            idx = ok[start:start + batch_size]
            x = torch.stack([tensors[i] for i in idx])
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            feats = model(x).float().numpy()
            for j, i in enumerate(idx):
                out[i] = feats[j]
    return out


def featurize_bytes(contents: list[bytes], name: str = "efficientnet-lite0", input_size: int | None = None,
                    batch_size: int = 64, threads: int | None = None, progress: bool = False,
                    payload: tuple[FeaturizerSpec, dict[str, np.ndarray], Any] | None = None) -> np.ndarray:
    """Plain single-process torch featurisation (the reference and the benchmark's baseline).

    Returns:
        float32 array (n_images, feature_dim); rows of undecodable images are NaN.
    """
    import torch
    from tqdm.auto import tqdm

    spec, state, _ = payload or load_backbone_payload(name, input_size)
    if threads:
        torch.set_num_threads(int(threads))
    model, transform = build_model(spec, state), build_transform(spec)
    rows: list[np.ndarray | None] = []
    chunk = max(1, int(batch_size)) * 4
    for start in tqdm(range(0, len(contents), chunk), desc=f"featurise {spec.name}", disable=not progress):
        rows += featurize_contents(model, transform, contents[start:start + chunk], batch_size, spec.channels_last)
    out = np.full((len(rows), spec.feature_dim), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            out[i] = r
    return out


# ----------------------------------------------------------------------------- Spark side

# Per Python worker: featurizer key (a uuid made on the driver) → (model, transform). Survives between tasks because workers are reused.
_WORKER_MODELS: dict[str, tuple[Any, Any]] = {}


def _worker_model(bc: Any, key: str) -> tuple[Any, Any, FeaturizerSpec]:
    spec_dict, state = bc.value
    spec = FeaturizerSpec(**{**spec_dict, "mean": tuple(spec_dict["mean"]), "std": tuple(spec_dict["std"])})
    if key not in _WORKER_MODELS:
        _WORKER_MODELS[key] = (build_model(spec, state), build_transform(spec))
    model, transform = _WORKER_MODELS[key]
    return model, transform, spec


def torch_threads_per_task(task_slots: int, cpu_count: int | None = None) -> int:
    """Threads each concurrently running task may use without oversubscribing the executor's cores."""
    cpus = cpu_count or os.cpu_count() or 1
    return max(1, cpus // max(1, int(task_slots)))


@dataclass
class SparkFeaturizer:
    """A pandas UDF (`content` bytes → array<float>) plus what it was built from."""

    udf: Any
    spec: FeaturizerSpec
    broadcast: Any
    batch_size: int
    torch_threads: int  # 0: decided on each executor from its cores and the task slots

    def destroy(self) -> None:
        """Free the broadcast weights on the executors."""
        self.broadcast.destroy()


def make_featurizer(spark: Any, name: str = "efficientnet-lite0", input_size: int | None = None,
                    batch_size: int = 64, torch_threads: int = 0,
                    payload: tuple[FeaturizerSpec, dict[str, np.ndarray], Any] | None = None) -> SparkFeaturizer:
    """Broadcast a backbone's weights once and return a scalar-iterator pandas UDF that featurises images.

    Args:
        name: registry name (`efficientnet-lite0` offline; `mobilenetv2_100` etc. where reachable).
        input_size: model input resolution in px (None: the model's native size, 224).
        batch_size: images per forward pass inside the UDF (Arrow batches are cut into these).
        torch_threads: torch threads per task; 0 → executor cores // concurrent tasks.
    """
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import ArrayType, FloatType

    from lib.spark.session import task_slots

    spec, state, _ = payload or load_backbone_payload(name, input_size)
    bc = spark.sparkContext.broadcast((asdict(spec), state))
    slots = task_slots(spark)
    threads = int(torch_threads)
    bs = int(batch_size)
    key = uuid.uuid4().hex  # identifies this broadcast on the workers (Broadcast.id is driver-side only)

    def featurize(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        import torch

        torch.set_num_threads(threads or torch_threads_per_task(slots))
        model, transform, wspec = _worker_model(bc, key)
        for contents in batches:
            feats = featurize_contents(model, transform, contents.tolist(), bs, wspec.channels_last)
            yield pd.Series([None if f is None else f.astype(np.float32).tolist() for f in feats])

    udf = pandas_udf(featurize, ArrayType(FloatType()))
    return SparkFeaturizer(udf=udf, spec=spec, broadcast=bc, batch_size=bs, torch_threads=threads)


def add_features(df: Any, featurizer: SparkFeaturizer, n_partitions: int | None = None,
                 content_col: str = "content", output_col: str = "features", keep_content: bool = False) -> Any:
    """Add the CNN features as an ML vector column (`array_to_vector`), repartitioned for parallelism.

    binaryFile packs small files into few partitions (a 32 MB folder is one partition): without the
    repartition only one core would featurise.
    """
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    if n_partitions:
        df = df.repartition(int(n_partitions))
    out = df.withColumn(output_col, F.when(F.col(content_col).isNotNull(), featurizer.udf(F.col(content_col))))
    out = out.withColumn(output_col, F.when(F.col(output_col).isNotNull(), array_to_vector(F.col(output_col))))
    return out if keep_content else out.drop(content_col)
