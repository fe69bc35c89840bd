"""Fixtures of the assistant tests: SmolLM2's tokenizer (offline) and a tiny random Llama for training steps."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smol_tokenizer():
    """The real SmolLM2-135M-Instruct tokenizer (chat template included), from the registry's cache."""
    from transformers import AutoTokenizer

    from lib.core.registry import load_causal_lm, smollm2_cache_dir

    cache = smollm2_cache_dir()
    if (cache / "tokenizer_config.json").exists():
        tok = AutoTokenizer.from_pretrained(cache)
    else:
        tok = load_causal_lm("smollm2-135m-instruct")[0]
    return tok


@pytest.fixture()
def tiny_llama(smol_tokenizer):
    """A 2-layer random Llama with SmolLM2's vocabulary: fast enough for real optimiser steps in a test."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(smol_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      pad_token_id=smol_tokenizer.pad_token_id)
    return LlamaForCausalLM(cfg)
