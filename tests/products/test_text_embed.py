"""The e5 text member (lib/products/text_embed.py): cache, head, choice of C on validation."""
from __future__ import annotations

import numpy as np

from lib.products import text_embed


def test_embeddings_are_cached_by_texts_model_and_length(tmp_path, monkeypatch):
    calls = []

    def fake_embed(texts, name, batch_size, progress, max_length):
        calls.append(list(texts))
        return np.array([[len(t), max_length] for t in texts], dtype=np.float32)

    monkeypatch.setattr("lib.core.registry.embed_texts", fake_embed)
    monkeypatch.setattr(text_embed, "models_dir", lambda: tmp_path)
    a = text_embed.embed_listings(["un", "deux"], max_length=64, progress=False)
    b = text_embed.embed_listings(["un", "deux"], max_length=64, progress=False)
    c = text_embed.embed_listings(["un", "deux"], max_length=32, progress=False)
    d = text_embed.embed_listings(["un", "trois"], max_length=64, progress=False)
    assert not a.from_cache and b.from_cache and not c.from_cache and not d.from_cache
    assert np.array_equal(a.X, b.X) and len(calls) == 3


def test_head_gives_all_classes_and_C_is_chosen_on_validation():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    X = rng.normal(0, 1, (120, 8))
    X[np.arange(120), y] += 2.0
    tr, va = np.arange(0, 120, 2), np.arange(1, 120, 2)
    head, grid = text_embed.choose_head_C(X[tr], y[tr], X[va], y[va], k=4, Cs=(0.001, 1.0))
    assert list(grid["C"]) == [0.001, 1.0] and head.C == float(grid.sort_values("weighted_f1").iloc[-1]["C"])
    p = head.predict_proba(X[va])
    assert p.shape == (60, 4) and np.allclose(p.sum(1), 1) and (p[:, 3] == 0).all()
    assert (p.argmax(1) == y[va]).mean() > 0.8
