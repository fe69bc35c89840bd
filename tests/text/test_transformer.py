"""Fine-tuning through the registry: beats chance on a tiny set, HPO keeps the best trial, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from lib.core.registry import ModelUnavailableError
from lib.text.transformer import (FineTuneConfig, SearchSpace, cross_fit, fine_tune, label_indices, load_fine_tuned,
                                  rows_for_budget, search_hyperparameters, set_cpu_threads, split_validation,
                                  subsample)

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
    with pytest.raises(ModelUnavailableError, match="multilingual-e5-small"):
        fine_tune(TEXTS[:6], Y[:6], TEXTS[6:9], Y[6:9], LABELS, FineTuneConfig(model_name="camembert-base"),
                  progress=False)


def test_rows_for_budget_uses_all_rows_when_affordable_and_says_why():
    small = rows_for_budget(600, step_s=0.5, batch_size=16, fits=9, epochs=4, rows_available=330)
    assert small.rows == 330 and "all of them" in small.explain()
    big = rows_for_budget(600, step_s=0.5, batch_size=16, fits=9, epochs=4, rows_available=10_000)
    assert big.rows == int(600 / (9 * 4 * 0.5 / 16)) and "a stratified" in big.explain()
    assert rows_for_budget(1, 0.5, 16, 9, 4, 10_000, min_rows=44).rows == 44
    with pytest.raises(ValueError):
        rows_for_budget(0, 0.5, 16, 9, 4, 100)


@pytest.mark.slow
def test_fine_tuning_beats_chance_and_saves(tmp_path):
    tr_x, tr_y, va_x, va_y = split_validation(TEXTS, Y, val_size=0.25, seed=0)
    cfg = FineTuneConfig(model_name="minilm-l6", learning_rate=2e-4, batch_size=8, epochs=4, max_length=32,
                         patience=2, seed=0, freeze_embeddings=False)
    res = fine_tune(tr_x, tr_y, va_x, va_y, LABELS, cfg, test_texts=["It is raining and cold today",
                                                                       "He kicked the ball into the net"],
                    progress=False)
    assert res.val_logits.shape == (9, 3) and res.test_logits.shape == (2, 3)
    # chance is 1/3: a real fine-tuning of a pretrained encoder separates three plain topics
    assert res.val_macro_f1 >= 0.6, res.history
    assert [LABELS[i] for i in res.test_logits.argmax(1)] == ["weather", "sport"]
    assert len(res.history) >= 1 and 1 <= res.best_epoch <= 4
    folder = res.save(tmp_path / "ft", extra={"temperature": 1.5})
    again = load_fine_tuned(folder)
    np.testing.assert_allclose(again.predict_logits(va_x), res.val_logits, atol=1e-4)
    assert again.labels == LABELS and again.meta["temperature"] == 1.5


@pytest.mark.slow
def test_lp_ft_head_starts_from_the_probe_and_embeddings_stay_frozen():
    """With the probe's head and a learning rate of ~0, the classifier is the probe (LP-FT starts there)."""
    from lib.core.registry import embed_texts, load_text_encoder
    from lib.text.probe import probe_head
    from lib.text.transformer import build_classifier, predict_logits

    enc = load_text_encoder("minilm-l6")
    y = label_indices(Y, LABELS)
    E = embed_texts(TEXTS, "minilm-l6", encoder=enc, max_length=32)
    W, b = probe_head(E, y, 3, C=10)
    tok, model = build_classifier("minilm-l6", 3, head_init=(W, b), encoder=enc, dropout=0.0)
    logits = predict_logits(model, tok, TEXTS, max_length=32)
    np.testing.assert_allclose(logits, E @ W.T + b, atol=1e-3)
    assert not model.encoder.get_input_embeddings().weight.requires_grad
    assert enc[1] is not model.encoder  # the shared encoder is copied, not trained in place


@pytest.mark.slow
def test_cross_fit_scores_every_row_with_a_model_that_did_not_see_it():
    """Memorisable texts with random labels: out-of-fold predictions must stay near chance (no leakage)."""
    from lib.evaluation.crossfit import make_folds

    rng = np.random.default_rng(0)
    texts = [f"code {rng.integers(10**6)} {w}" for w in ("alpha", "beta", "gamma", "delta") * 6]
    y = [LABELS[i] for i in rng.integers(0, 3, len(texts))]
    folds = make_folds(label_indices(y, LABELS), 3, seed=0)
    cfg = FineTuneConfig(model_name="minilm-l6", learning_rate=5e-4, batch_size=8, epochs=6, max_length=16, seed=0,
                         freeze_embeddings=False)
    out = cross_fit(texts, y, LABELS, cfg, folds, test_texts=texts[:4], progress=False)
    assert out.oof_logits.shape == (24, 3) and out.final.test_logits.shape == (4, 3)
    oof_acc = (out.oof_logits.argmax(1) == label_indices(y, LABELS)).mean()
    fit_acc = (out.final.test_logits.argmax(1) == label_indices(y[:4], LABELS)).mean()
    assert oof_acc <= 0.6 and fit_acc >= 0.75, (oof_acc, fit_acc)  # it memorises what it saw, not the rest


@pytest.mark.slow
def test_hpo_runs_trials_and_keeps_the_best():
    tr_x, tr_y, va_x, va_y = split_validation(TEXTS, Y, val_size=0.25, seed=1)
    base = FineTuneConfig(model_name="minilm-l6", max_length=32, patience=1, seed=1)
    out = search_hyperparameters(tr_x, tr_y, va_x, va_y, LABELS, base,
                                 SearchSpace(learning_rate=(1e-5, 3e-4), batch_size=(8,), epochs=(1, 2)),
                                 n_trials=2, test_texts=va_x, progress=False)
    assert len(out.trials) == 2 and set(out.trials.columns) >= {"learning_rate", "batch_size", "epochs", "val_macro_f1"}
    assert out.best.val_macro_f1 == pytest.approx(out.trials.val_macro_f1.max())
    assert out.best.test_logits.shape == (len(va_x), 3)
    assert out.trials.learning_rate.between(1e-5, 3e-4).all()


def test_history_plot_has_the_three_curves():
    import matplotlib

    matplotlib.use("Agg")
    from lib.text.transformer import plot_history

    ax = plot_history([{"epoch": 1.0, "eval_macro_f1": 0.5, "eval_loss": 1.2, "train_loss": 1.5},
                       {"epoch": 2.0, "eval_macro_f1": 0.7, "eval_loss": 0.9, "train_loss": 1.0}])
    assert len(ax.get_lines()) == 3 and ax.get_xlabel() == "epoch"
