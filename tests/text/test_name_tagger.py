"""The name tagger: labels from character spans, spans from token probabilities, the threshold chosen on
validation rows, and a short real fine-tuning that saves, reloads and tags."""
from __future__ import annotations

import pytest

from lib.text.name_tagger import LABELS, choose_threshold, sentence_entities, spans_from_probabilities, token_labels


def test_bio_labels_follow_character_spans_and_ignore_the_leading_space():
    text = "Vit d'Artagnan à Paris"
    # SentencePiece offsets carry the space before a word: (3, 5) is " d"
    offsets = [(0, 0), (0, 3), (3, 5), (5, 6), (6, 8), (8, 14), (14, 16), (16, 22), (0, 0)]
    ents = sentence_entities([(4, 14)], [(17, 22, "LOC"), (0, 3, "MISC")])
    labels = [LABELS[i] if i >= 0 else None for i in token_labels(text, offsets, ents)]
    assert labels == [None, "O", "B-PER", "I-PER", "I-PER", "I-PER", "O", "B-LOC", None]


def test_spans_join_tokens_and_widen_to_whole_words():
    text = "Merci à Jean-Baptiste Oudin et à Marie."
    tokens = [(8, 12, 0.9), (12, 21, 0.7), (22, 25, 0.8), (25, 27, 0.2), (33, 38, 0.95), (38, 39, 0.1)]
    spans = spans_from_probabilities(text, tokens, 0.5)
    assert [text[s:e] for s, e in spans] == ["Jean-Baptiste Oudin", "Marie"]  # "Oud" widened to "Oudin"
    assert spans_from_probabilities(text, tokens, 0.99) == []


def test_threshold_is_the_best_recall_under_the_precision_floor():
    texts = ["Marie part.", "Le Pont part."]
    gold = [[(0, 5, "PERSON")], []]
    probs = [[(0, 5, 0.9), (6, 10, 0.1)], [(0, 2, 0.1), (3, 7, 0.6), (8, 12, 0.1)]]
    th, table = choose_threshold(gold, texts, probs, min_precision=0.85, grid=(0.3, 0.5, 0.7))
    assert th == 0.7  # 0.3 and 0.5 also tag "Pont": precision 0.5
    assert table.set_index("threshold").loc[0.5, "precision"] == 0.5


@pytest.mark.slow
def test_a_short_fine_tuning_saves_reloads_and_tags(tmp_path):
    from lib.text.name_tagger import NameTagger, TaggerConfig, save_tagger, train_tagger

    names = ["Marie", "Jules", "Aline", "Hector", "Lucie", "Victor", "Odile", "Gaston"]
    texts = [f"Hier, {n} est venu voir {m} à Lyon." for n, m in zip(names, names[1:] + names[:1])]
    ents = [[(6, 6 + len(n), "PER"), (t.index(m), t.index(m) + len(m), "PER"), (len(t) - 5, len(t) - 1, "LOC")]
            for t, n, m in zip(texts, names, names[1:] + names[:1])]
    gold = [[(s, e, "PERSON") for s, e, k in es if k == "PER"] for es in ents]
    config = TaggerConfig(max_steps=6, eval_steps=3, batch_size=4, n_eval=4, learning_rate=5e-4, time_budget_s=120)
    tok, model, result = train_tagger(texts, ents, texts[:4], gold[:4], config, progress=False)
    assert len(result.history) >= 2 and result.n_train_sentences == len(texts)
    assert all(0 <= h["eval_fully_masked"] <= 1 for h in result.history)
    folder = save_tagger(tmp_path / "tagger", tok, model, result)
    tagger = NameTagger.load(folder)
    probs = tagger.probabilities(["Hier, Marie est venue."])[0]
    assert probs and all(0.0 <= p <= 1.0 for _, _, p in probs)
    assert tagger.threshold == result.threshold
