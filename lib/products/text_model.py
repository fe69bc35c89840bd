"""Text classification of product listings (study Part III): TF-IDF word+char, a benchmark, a C grid, calibration.

LinearSVC has no probabilities; the fusion needs calibrated ones, so `CalibratedTextModel` fits the
pipeline on train and a temperature on the validation decision scores (softmax(scores / T)).
Score and probability matrices always have one column per class, two-class catalogues included.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import classification_report
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from lib.evaluation.calibration import (apply_temperature, binary_logits, expected_calibration_error,
                                        fit_temperature, nll)
from lib.evaluation.metrics import classification_scores
from lib.text.tfidf import make_tfidf

MODEL_NAMES = ("LinearSVC", "SGDClassifier", "LogisticRegression", "RandomForest", "MultinomialNB")


def scores(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> dict[str, float]:
    """Accuracy, weighted F1 (the challenge's metric) and macro F1 (`lib.evaluation.metrics.macro_f1`).

    Args:
        labels: the full label set (class names, or `range(k)` for indices): macro F1 averages over all of
            them, a class absent from this split counting 0. Without it, over the labels in y_true or y_pred.
    """
    s = classification_scores(y_true, y_pred, labels)
    return {"accuracy": s["accuracy"], "weighted_f1": s["weighted_f1"], "macro_f1": s["macro_f1"]}


def make_classifier(name: str, seed: int = 42, C: float = 1.0, class_weight: str | None = "balanced",
                    n_estimators: int = 200) -> Any:
    """One of the benchmark's classifiers; `class_weight="balanced"` counters class imbalance where supported."""
    if name == "LinearSVC":
        return LinearSVC(C=C, class_weight=class_weight, random_state=seed)
    if name == "SGDClassifier":
        return SGDClassifier(loss="modified_huber", alpha=1e-4 / max(C, 1e-6), class_weight=class_weight,
                             max_iter=50, tol=1e-4, random_state=seed)
    if name == "LogisticRegression":
        return LogisticRegression(C=10 * C, class_weight=class_weight, max_iter=1000, tol=1e-3, random_state=seed)
    if name == "RandomForest":
        return RandomForestClassifier(n_estimators=n_estimators, class_weight=class_weight, n_jobs=1,
                                      random_state=seed)
    if name == "MultinomialNB":  # no class_weight: its class prior is learned from the counts
        return MultinomialNB(alpha=0.1)
    raise ValueError(f"unknown text model {name!r}; expected one of {MODEL_NAMES}")


def make_text_pipeline(name: str = "LinearSVC", seed: int = 42, C: float = 1.0, min_df: int = 1,
                       max_features: int | None = None, **kwargs: Any) -> Pipeline:
    """TF-IDF word (1,2) + char_wb (3,5), sublinear tf → classifier."""
    return Pipeline([("tfidf", make_tfidf(min_df=min_df, max_features=max_features)),
                     ("clf", make_classifier(name, seed=seed, C=C, **kwargs))])


def benchmark_text_models(train_texts: Sequence[str], y_train: Sequence[str], eval_texts: Sequence[str],
                          y_eval: Sequence[str], models: Sequence[str] = MODEL_NAMES, seed: int = 42,
                          min_df: int = 1, max_features: int | None = None, n_estimators: int = 200) -> pd.DataFrame:
    """Fit each classifier on the same TF-IDF features; one row per model with scores and timings.

    The vectoriser is fitted once (its time is reported in `tfidf_s`) so `fit_s` compares the classifiers.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    vec = make_tfidf(min_df=min_df, max_features=max_features)
    X_train = vec.fit_transform(list(train_texts))
    X_eval = vec.transform(list(eval_texts))
    tfidf_s = time.perf_counter() - t0
    # integer codes: RandomForest's class_weight check mishandles string labels that look like numbers
    classes = sorted(set(map(str, y_train)) | set(map(str, y_eval)))
    code = {c: i for i, c in enumerate(classes)}
    yt, ye = np.array([code[str(c)] for c in y_train]), np.array([code[str(c)] for c in y_eval])
    rows = []
    for name in tqdm(list(models), desc="text models", unit="model"):
        clf = make_classifier(name, seed=seed, n_estimators=n_estimators)
        t1 = time.perf_counter()
        clf.fit(X_train, yt)
        fit_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        pred = clf.predict(X_eval)
        predict_s = time.perf_counter() - t2
        rows.append({"model": name, **scores(ye, pred, range(len(classes))), "fit_s": round(fit_s, 3),
                     "predict_s": round(predict_s, 3), "tfidf_s": round(tfidf_s, 3)})
    return pd.DataFrame(rows).sort_values("weighted_f1", ascending=False).reset_index(drop=True)


def grid_over_c(train_texts: Sequence[str], y_train: Sequence[str], val_texts: Sequence[str], y_val: Sequence[str],
                Cs: Sequence[float] = (0.1, 0.3, 1.0, 3.0), model: str = "LinearSVC", seed: int = 42,
                min_df: int = 1, max_features: int | None = None) -> pd.DataFrame:
    """Validation scores of `model` for each C (TF-IDF fitted once on train)."""
    vec = make_tfidf(min_df=min_df, max_features=max_features)
    X_train, X_val = vec.fit_transform(list(train_texts)), vec.transform(list(val_texts))
    labels = sorted(set(map(str, y_train)) | set(map(str, y_val)))
    y_train, y_val = [str(c) for c in y_train], [str(c) for c in y_val]
    rows = []
    for C in Cs:
        t0 = time.perf_counter()
        clf = make_classifier(model, seed=seed, C=C).fit(X_train, y_train)
        rows.append({"C": float(C), **scores(y_val, clf.predict(X_val), labels),
                     "fit_s": round(time.perf_counter() - t0, 3)})
    return pd.DataFrame(rows)


def best_c(grid: pd.DataFrame, metric: str = "weighted_f1") -> float:
    """The C with the best validation score (the smaller C on ties: more regularisation)."""
    return float(grid.sort_values([metric, "C"], ascending=[False, True]).iloc[0]["C"])


def per_class_report(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, sorted by F1 (worst first)."""
    rep = classification_report(y_true, y_pred, labels=list(labels), output_dict=True, zero_division=0)
    rows = [{"class": c, "precision": rep[c]["precision"], "recall": rep[c]["recall"], "f1": rep[c]["f1-score"],
             "support": int(rep[c]["support"])} for c in labels]
    return pd.DataFrame(rows).sort_values(["f1", "support"]).reset_index(drop=True)


def scores_matrix(model: Any, texts: Sequence[str]) -> np.ndarray:
    """Decision scores (LinearSVC, SGD hinge) or log-probabilities, (n, k) in `model.classes_` order: the
    input of the temperature.

    A binary classifier's decision function has one column (the margin d of `classes_[1]`); it becomes
    [0, d] (`binary_logits`), so softmax(scores / T) is a proper two-column softmax, [σ(−d/T), σ(d/T)].
    """
    if hasattr(model, "decision_function"):
        return binary_logits(model.decision_function(list(texts)))
    return np.log(np.clip(model.predict_proba(list(texts)), 1e-12, 1.0))


@dataclass
class CalibratedTextModel:
    """A fitted text pipeline + a temperature fitted on validation: `predict_proba` gives calibrated probabilities.

    Empty texts (no designation nor description) get uniform probabilities: the model has no evidence,
    and the fusion treats those rows as "text missing".
    """

    pipeline: Pipeline
    temperature: float
    classes: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def decision_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated scores (n, k) in `classes` order."""
        return scores_matrix(self.pipeline, texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """softmax(scores / T), uniform for empty texts."""
        texts = ["" if t is None else str(t) for t in texts]
        proba = apply_temperature(self.decision_scores(texts), self.temperature)
        empty = np.array([not t.strip() for t in texts])
        proba[empty] = 1.0 / len(self.classes)
        return proba

    def predict(self, texts: Sequence[str]) -> list[str]:
        """Most probable class per text."""
        return [self.classes[i] for i in self.predict_proba(texts).argmax(1)]


def fit_calibrated_text_model(train_texts: Sequence[str], y_train: Sequence[str], val_texts: Sequence[str],
                              y_val: Sequence[str], model: str = "LinearSVC", C: float = 1.0, seed: int = 42,
                              min_df: int = 1, max_features: int | None = None,
                              class_weight: str | None = "balanced") -> CalibratedTextModel:
    """Fit the pipeline on train, then the temperature on validation (min NLL); records before/after NLL and ECE."""
    t0 = time.perf_counter()
    pipe = make_text_pipeline(model, seed=seed, C=C, min_df=min_df, max_features=max_features,
                              class_weight=class_weight).fit(list(train_texts), list(y_train))
    fit_s = time.perf_counter() - t0
    classes = [str(c) for c in pipe.classes_]
    index = {c: i for i, c in enumerate(classes)}
    unseen = sorted(set(map(str, y_val)) - set(index))
    if unseen:
        raise ValueError(f"validation labels {unseen} do not occur in training")
    yv = np.array([index[str(c)] for c in y_val])
    z = scores_matrix(pipe, val_texts)
    temperature = fit_temperature(z, yv)
    raw = apply_temperature(z, 1.0)  # plain softmax of the scores: the "before" reference
    cal = apply_temperature(z, temperature)
    info = {"model": model, "C": float(C), "class_weight": class_weight, "fit_s": round(fit_s, 3), "temperature": float(temperature),
            "val_nll_before": nll(raw, yv), "val_nll_after": nll(cal, yv),
            "val_ece_before": expected_calibration_error(raw, yv), "val_ece_after": expected_calibration_error(cal, yv)}
    return CalibratedTextModel(pipeline=pipe, temperature=float(temperature), classes=classes, info=info)


def calibration_table(model: CalibratedTextModel, texts: Sequence[str], y: Sequence[str]) -> dict[str, float]:
    """NLL and ECE of softmax(scores) vs the calibrated probabilities on a held-out split."""
    index = {c: i for i, c in enumerate(model.classes)}
    yi = np.array([index[str(c)] for c in y])
    z = model.decision_scores(texts)
    raw, cal = apply_temperature(z, 1.0), apply_temperature(z, model.temperature)
    return {"nll_before": nll(raw, yi), "nll_after": nll(cal, yi),
            "ece_before": expected_calibration_error(raw, yi), "ece_after": expected_calibration_error(cal, yi)}

