"""The preprocessing chain shared by training and serving: clean → anonymise → detect the language."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from lib.text.anonymise import Anonymiser
from lib.emails.clean import clean_email


@dataclass
class Preprocessor:
    """Cleaning + PII anonymisation + language identification, configured by plain values (JSON-able)."""

    use_ner: bool = True  # False: the patterns only (tests, quick runs)
    pii_detector: str = "spacy-md+gazetteer"  # person-name detector (lib.text.name_detectors); "tagger" etc.
    ner_model: str | None = None  # the first version's setting: models saved with it reload with its exact pipeline
    langid_model: str = "py3langid"
    languages: tuple[str, ...] = ("fr", "en")
    remove_quoted: bool = True
    remove_signature: bool = True
    _anonymiser: Anonymiser | None = field(default=None, init=False, repr=False, compare=False)
    _identify: Callable[[str], tuple[str, float]] | None = field(default=None, init=False, repr=False, compare=False)

    def config(self) -> dict[str, Any]:
        """The settings, for saving next to a model."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if not k.startswith("_")}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Preprocessor":
        """Rebuild from `config()` output."""
        cfg = dict(config)
        if "languages" in cfg:
            cfg["languages"] = tuple(cfg["languages"])
        return cls(**cfg)

    @property
    def anonymiser(self) -> Anonymiser:
        if self._anonymiser is None:
            self._anonymiser = Anonymiser("emails", use_ner=self.use_ner, ner_model=self.ner_model,
                                          detector=None if self.ner_model else self.pii_detector)
        return self._anonymiser

    def clean(self, texts: Sequence[str], subjects: Sequence[str | None] | None = None) -> list[str]:
        """Cleaned texts (HTML, quoted replies, signatures removed; unicode and whitespace normalised)."""
        subjects = list(subjects) if subjects is not None else [None] * len(texts)
        return [clean_email(t, s, quoted=self.remove_quoted, signature=self.remove_signature)
                for t, s in zip(texts, subjects)]

    def transform(self, texts: Sequence[str], subjects: Sequence[str | None] | None = None,
                  progress: bool = False) -> list[str]:
        """Cleaned and anonymised texts: what models are trained on and what they see when serving."""
        return self.anonymiser.anonymise_many(self.clean(texts, subjects), progress=progress)

    def detect_language(self, texts: Sequence[str]) -> list[str]:
        """ISO 639-1 code of each text, among `languages` (the registry's language identifier)."""
        if self._identify is None:
            from lib.core.registry import load_language_identifier

            self._identify = load_language_identifier(self.langid_model, languages=tuple(self.languages))
        return [self._identify(t)[0] if t and t.strip() else self.languages[0] for t in texts]
