"""The servable e-mail triage model: preprocessing, category classifier, temperature, reject threshold,
urgency (model + rules) and reply suggestion, saved to and loaded from one folder.

    pipe = TriagePipeline.load(models_dir() / "emails" / "triage")
    pipe.triage("Bonjour, ma convention de stage n'est pas signée, c'est urgent !")
    → {"category": ..., "urgency": ..., "confidence": ..., "reasons": [...], "reply_suggestion": ..., "abstained": ...}
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from lib.emails import urgency as urg
from lib.emails.preprocess import Preprocessor
from lib.emails.reply import suggest_reply
from lib.evaluation.calibration import apply_temperature
from lib.evaluation.crossfit import align_columns

FORMAT_VERSION = 1


class EmptyTextError(ValueError):
    """Nothing to classify: the text is empty, or empty once cleaned."""
OUTPUT_KEYS = ("category", "urgency", "confidence", "reasons", "reply_suggestion", "abstained")


@dataclass
class TriagePipeline:
    """Everything needed to triage one raw e-mail; the input is cleaned and anonymised here first."""

    name: str
    version: str
    labels: list[str]
    category_model: Pipeline | None
    temperature: float = 1.0
    threshold: float = 0.0
    urgency_model: Pipeline | None = None
    urgency_labels: list[str] = field(default_factory=list)
    preprocessor: Preprocessor = field(default_factory=Preprocessor)
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    templates: dict[str, dict[str, str]] | None = None
    trusted_rules: list[str] | None = None  # haute rules allowed to override the model (None: all)
    # A fine-tuned transformer (`lib.text.transformer.FineTunedClassifier`) in place of the TF-IDF model:
    # notebook 03 saves one to models/emails/transformer, served with --model-dir models/emails/transformer.
    encoder_classifier: Any = None

    def __post_init__(self) -> None:
        if (self.category_model is None) == (self.encoder_classifier is None):
            raise ValueError("give exactly one of category_model (TF-IDF pipeline) and encoder_classifier")
        classes = [str(c) for c in getattr(self.category_model, "classes_", [])] or \
            [str(c) for c in getattr(self.encoder_classifier, "labels", [])]
        if classes and classes != list(self.labels):
            raise ValueError(f"labels {self.labels} differ from the model's classes {classes}")
        if self.temperature <= 0:
            raise ValueError("temperature must be positive")

    # ------------------------------------------------------------------ prediction on prepared text
    @property
    def _features(self) -> tuple[Any, Any, np.ndarray, np.ndarray]:
        """(vectoriser, classifier, feature names, class × feature weights), computed once per loaded model."""
        cached = getattr(self, "_features_cache", None)
        if cached is None:
            from lib.explain.linear import _coef, _parts

            vec, clf = _parts(self.category_model)
            cached = (vec, clf, np.asarray(vec.get_feature_names_out()), _coef(clf))
            object.__setattr__(self, "_features_cache", cached)
        return cached

    def predict_proba(self, clean_texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities for already cleaned + anonymised texts (columns: `labels`)."""
        return self._category(clean_texts)[0]

    def _category(self, clean_texts: Sequence[str]) -> tuple[np.ndarray, Any]:
        """(calibrated probabilities, the TF-IDF rows or None for the transformer), one transform per text."""
        if self.encoder_classifier is not None:
            return apply_temperature(self.encoder_classifier.predict_logits(list(clean_texts)), self.temperature), None
        vec, clf, _, _ = self._features
        X = vec.transform(list(clean_texts)).tocsr()
        return apply_temperature(align_columns(clf.decision_function(X), clf.classes_, self.labels),
                                 self.temperature), X

    def _urgency_levels(self, clean_texts: Sequence[str]) -> list[str | None]:
        if self.urgency_model is None:
            return [None] * len(clean_texts)
        return [str(v) for v in self.urgency_model.predict(list(clean_texts))]

    def triage_prepared(self, clean_texts: Sequence[str], langs: Sequence[str],
                        timings: dict[str, float] | None = None) -> list[dict[str, Any]]:
        """Triage texts that already went through `preprocessor.transform`.

        The category features are computed once per text and used for the probabilities and the reasons
        (the urgency model has a vectoriser of its own). `timings`, when given, receives seconds per stage.
        """
        from lib.explain.linear import reasons_from_row

        t0 = time.perf_counter()
        proba, X = self._category(clean_texts)
        if X is not None:
            _, _, names, coef = self._features
        model_urg = self._urgency_levels(clean_texts)
        t1 = time.perf_counter()
        out = []
        for i, text in enumerate(clean_texts):
            k = int(proba[i].argmax())
            conf = float(proba[i, k])
            abstained = conf < self.threshold
            category = self.labels[k]
            reasons = []
            if X is not None:
                words = reasons_from_row(X[i], coef[k], names)
                if words:
                    reasons.append(f"category '{category}' suggested by: " + ", ".join(repr(w) for w in words))
            else:
                reasons.append(f"category '{category}' from the fine-tuned "
                               f"{self.encoder_classifier.meta['config']['model_name']} (no word-level weights)")
            reasons.append(f"confidence {conf:.2f} (temperature-scaled, T={self.temperature:.2f}) "
                           f"{'below' if abstained else 'at or above'} the reject threshold {self.threshold:.2f}")
            if abstained:
                reasons.append("abstained: to be read by a person")
            rule = urg.apply_rules(text)
            level, how = urg.combine(model_urg[i], rule, self.trusted_rules)
            reasons += rule.reasons()
            if how == "model":
                reasons.append(f"urgency '{level}' from the urgency model")
            elif how == "none":
                reasons.append("urgency not assessed: no urgency model (training data had no urgency labels) "
                               "and no explicit marker")
            out.append({"category": category, "urgency": level, "confidence": round(conf, 4), "reasons": reasons,
                        "reply_suggestion": suggest_reply(category, langs[i], abstained, level, self.templates),
                        "abstained": bool(abstained)})
        if timings is not None:
            timings["model"] = t1 - t0
            timings["reasons"] = time.perf_counter() - t1
        return out

    # ------------------------------------------------------------------ raw e-mails
    def triage_many(self, texts: Sequence[str], langs: Sequence[str | None] | None = None,
                    subjects: Sequence[str | None] | None = None,
                    timings: dict[str, float] | None = None) -> list[dict[str, Any]]:
        """Triage raw e-mails (plain text or HTML); `langs` entries of None are detected.

        Raises:
            EmptyTextError (a ValueError): a text is empty, or nothing is left once HTML, the quoted reply
                and the signature are removed — there is nothing to classify.
        """
        texts = ["" if t is None else str(t) for t in texts]
        if any(not t.strip() for t in texts):
            raise EmptyTextError("empty e-mail text")
        t0 = time.perf_counter()
        pre = self.preprocessor
        cleaned = pre.clean(texts, subjects)
        if any(not c.strip() for c in cleaned):
            raise EmptyTextError("nothing left to triage after cleaning (only HTML markup, a quoted reply or a "
                                 "signature): send the message's own text")
        t1 = time.perf_counter()
        clean = pre.anonymiser.anonymise_many(cleaned)
        t2 = time.perf_counter()
        langs = list(langs) if langs is not None else [None] * len(texts)
        missing = [i for i, l in enumerate(langs) if not l]
        if missing:
            found = pre.detect_language([clean[i] for i in missing])
            for i, l in zip(missing, found):
                langs[i] = l
        t3 = time.perf_counter()
        out = self.triage_prepared(clean, [str(l).lower()[:2] for l in langs], timings)
        if timings is not None:
            timings.update(clean=t1 - t0, ner=t2 - t1, language=t3 - t2)
        return out

    def triage(self, text: str, lang: str | None = None, subject: str | None = None,
               timings: dict[str, float] | None = None) -> dict[str, Any]:
        """Triage one raw e-mail → {category, urgency, confidence, reasons, reply_suggestion, abstained}.

        `urgency` is None when there is no urgency model and no explicit marker fired.
        """
        return self.triage_many([text], [lang], [subject], timings)[0]

    def warm_up(self) -> "TriagePipeline":
        """Load spaCy and the language identifier now (the first request would otherwise pay for it)."""
        self.triage("Bonjour, ceci est un test.", lang=None)
        return self

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        """Write `model.joblib` (the sklearn models) and `meta.json` (everything else) into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"category_model": self.category_model, "urgency_model": self.urgency_model},
                    folder / "model.joblib", compress=1)
        meta = {"format_version": FORMAT_VERSION, "name": self.name, "version": self.version, "labels": self.labels,
                "temperature": self.temperature, "threshold": self.threshold, "urgency_labels": self.urgency_labels,
                "preprocessor": self.preprocessor.config(), "metrics": self.metrics, "data": self.data,
                "templates": self.templates, "trusted_rules": self.trusted_rules,
                "scorer": "transformer" if self.encoder_classifier is not None else "tfidf",
                "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=float))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "TriagePipeline":
        """Read a folder written by `save` (a clear error when it is missing or incomplete)."""
        folder = Path(folder)
        meta_path, model_path = folder / "meta.json", folder / "model.joblib"
        if not meta_path.is_file() or not model_path.is_file():
            raise FileNotFoundError(f"no triage model in {folder} (expected meta.json and model.joblib): run "
                                    "notebooks/02_emails_baselines.ipynb first (./run_all.sh 02)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{folder}: format version {meta.get('format_version')} != {FORMAT_VERSION}")
        models = joblib.load(model_path)
        encoder = None
        if meta.get("scorer") == "transformer":  # the fine-tuned encoder's files sit in the same folder
            from lib.text.transformer import load_fine_tuned

            encoder = load_fine_tuned(folder)
        return cls(name=meta["name"], version=meta["version"], labels=list(meta["labels"]),
                   category_model=models["category_model"], encoder_classifier=encoder,
                   temperature=float(meta["temperature"]),
                   threshold=float(meta["threshold"]), urgency_model=models.get("urgency_model"),
                   urgency_labels=list(meta.get("urgency_labels") or []),
                   preprocessor=Preprocessor.from_config(meta["preprocessor"]), metrics=meta.get("metrics", {}),
                   data=meta.get("data", {}), templates=meta.get("templates"), trusted_rules=meta.get("trusted_rules"))


def default_model_dir() -> Path:
    """`models/emails/triage/`, where notebook 02 saves the chosen pipeline and the API loads it from."""
    from lib.core.paths import models_dir

    return models_dir() / "emails" / "triage"


def save_transformer_pipeline(result: Any, folder: str | Path, temperature: float, threshold: float,
                              preprocessor: Preprocessor, name: str = "email-triage-transformer", version: str = "1",
                              metrics: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> Path:
    """Save a fine-tuned transformer (`lib.text.transformer.FineTuneResult`) as a servable triage folder.

    The folder holds the encoder, its head and `finetune.json` (from `result.save`) plus the pipeline's
    `meta.json` / `model.joblib`, so `python -m lib.serving --model-dir <folder>` serves it like notebook 02's
    TF-IDF pipeline. Urgency comes from the explicit-marker rules only (03 trains no urgency model).
    """
    from lib.text.transformer import load_fine_tuned

    folder = Path(folder)
    result.save(folder, extra={"temperature": temperature, "threshold": threshold})
    pipe = TriagePipeline(name=name, version=version, labels=list(result.labels), category_model=None,
                          encoder_classifier=load_fine_tuned(folder), temperature=float(temperature),
                          threshold=float(threshold), preprocessor=preprocessor, metrics=metrics or {},
                          data=data or {})
    return pipe.save(folder)
