"""Fine-tuning through the registry: beats chance on a tiny set, HPO keeps the best trial, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core.registry import ModelUnavailableError
from lib.text.transformer import (FineTuneConfig, SearchSpace, fine_tune, label_indices, search_hyperparameters,
                                  set_cpu_threads, split_validation, subsample)

TOPICS = {
    "sport": ["The team won the football match last night", "She runs a marathon every spring",
              "The tennis final went to five sets", "Our basketball coach trains us twice a week",
              "He scored two goals in the second half", "The cyclists climbed the mountain stage",
              "The swimmer broke the world record", "Fans cheered as the striker scored",
              "The rugby season starts in September", "They play volleyball on the beach",
              "The goalkeeper saved a penalty", "A new stadium opened for the league games"],
    "food": ["This pasta recipe needs fresh tomatoes and basil", "We baked a chocolate cake for dessert",
             "The soup tastes better with more garlic", "I ordered a pizza with mushrooms",
             "Fry the onions before adding the rice", "The bakery sells warm croissants",
             "Add salt and pepper to the salad", "The chef grilled the fish with lemon",
             "We had pancakes with maple syrup for breakfast", "The curry was too spicy for me",
             "Slice the bread and toast it", "She cooked a vegetable stew for dinner"],
    "weather": ["Heavy rain is expected tomorrow afternoon", "It will be sunny and warm this weekend",
                "A storm is coming with strong winds", "Snow fell all night in the mountains",
                "The forecast says cloudy skies and light showers", "Temperatures will drop below freezing",
                "There is thick fog on the highway this morning", "A heatwave hits the south of the country",
                "Thunder and lightning woke us up", "The wind will calm down by the evening",
                "Expect frost early in the morning", "Humidity is high before the summer storm"],
}
TEXTS = [t for v in TOPICS.values() for t in v]
Y = [k for k, v in TOPICS.items() for _ in v]
LABELS = sorted(TOPICS)


@pytest.fixture(autouse=True, scope="module")
def _threads():
    set_cpu_threads(0)


def test_split_validation_is_stratified_and_disjoint():
    tr_x, tr_y, va_x, va_y = split_validation(TEXTS, Y, val_size=0.25, seed=0)
    assert len(va_x) == 9 and len(tr_x) == 27
    assert sorted(set(va_y)) == LABELS and not set(va_x) & set(tr_x)
    x, y = subsample(tr_x, tr_y, 12, seed=0)
    assert len(x) == 12 and sorted(set(y)) == LABELS
    assert subsample(tr_x, tr_y, None)[0] == tr_x


def test_label_indices_and_search_space_validation():
    assert list(label_indices(["food", "sport", "weather"], LABELS)) == [0, 1, 2]
    with pytest.raises(ValueError, match="not in the label list"):
        label_indices(["music"], LABELS)
    with pytest.raises(ValueError):
        SearchSpace(learning_rate=(1e-3, 1e-5))
    with pytest.raises(ValueError):
        SearchSpace(epochs=(0, 2))


def test_unreachable_hub_model_raises_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    with pytest.raises(ModelUnavailableError, match="minilm-l6"):
        fine_tune(TEXTS[:6], Y[:6], TEXTS[6:9], Y[6:9], LABELS, FineTuneConfig(model_name="camembert-base"),
                  progress=False)


@pytest.mark.slow
def test_fine_tuning_beats_chance_and_saves(tmp_path):
    tr_x, tr_y, va_x, va_y = split_validation(TEXTS, Y, val_size=0.25, seed=0)
    cfg = FineTuneConfig(learning_rate=2e-4, batch_size=8, epochs=4, max_length=32, patience=2, seed=0)
    res = fine_tune(tr_x, tr_y, va_x, va_y, LABELS, cfg, test_texts=["It is raining and cold today",
                                                                       "He kicked the ball into the net"],
                    progress=False)
    assert res.val_logits.shape == (9, 3) and res.test_logits.shape == (2, 3)
    # chance is 1/3: a real fine-tuning of a pretrained encoder separates three plain topics
    assert res.val_macro_f1 >= 0.6, res.history
    assert [LABELS[i] for i in res.test_logits.argmax(1)] == ["weather", "sport"]
    assert len(res.history) >= 1 and 1 <= res.best_epoch <= 4
    folder = res.save(tmp_path / "ft", extra={"temperature": 1.5})
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lib.text.transformer import predict_logits

    again = predict_logits(AutoModelForSequenceClassification.from_pretrained(folder),
                           AutoTokenizer.from_pretrained(folder), va_x, max_length=32)
    np.testing.assert_allclose(again, res.val_logits, atol=1e-4)
    assert (folder / "finetune.json").read_text().count("temperature") == 1


@pytest.mark.slow
def test_hpo_runs_trials_and_keeps_the_best():
    tr_x, tr_y, va_x, va_y = split_validation(TEXTS, Y, val_size=0.25, seed=1)
    base = FineTuneConfig(max_length=32, patience=1, seed=1)
    out = search_hyperparameters(tr_x, tr_y, va_x, va_y, LABELS, base,
                                 SearchSpace(learning_rate=(1e-5, 3e-4), batch_size=(8,), epochs=(1, 2)),
                                 n_trials=2, test_texts=va_x, progress=False)
    assert len(out.trials) == 2 and set(out.trials.columns) >= {"learning_rate", "batch_size", "epochs", "val_macro_f1"}
    assert out.best.val_macro_f1 == pytest.approx(out.trials.val_macro_f1.max())
    assert out.best.test_logits.shape == (len(va_x), 3)
    assert out.trials.learning_rate.between(1e-5, 3e-4).all()
