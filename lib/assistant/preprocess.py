"""Cleaning, RGPD anonymisation and abbreviation normalisation of conversations.

- `clean_text`: Unicode NFC, control characters removed, runs of 4+ identical letters shortened to 2
  ("stppppp" → "stpp"), whitespace collapsed; emojis are kept (they carry tone).
- anonymisation: `lib.text.anonymise.Anonymiser("assistant")`, the engine shared with the e-mails, with this
  domain's patterns (`pii.yaml` next to this file): phone numbers (Ivorian formats, with or without +225),
  transaction ids, person names (a gazetteer of common Ivorian names + trigger phrases such as "je m'appelle X",
  optionally spaCy's French NER for real logs) → `[TELEPHONE]`, `[ID_TRANSACTION]`, `[NOM]`.
- `Normaliser`: SMS abbreviations → standard French, on whole tokens only; the mapping is data
  (`abbreviations.yaml` next to this file).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lib.text.anonymise import Anonymiser, PiiPatterns, domain_names

ABBREVIATIONS_PATH = Path(__file__).with_name("abbreviations.yaml")
PII = PiiPatterns.load("assistant")
PHONE_TAG, ID_TAG, NAME_TAG = (PII.placeholders[k] for k in ("phone", "transaction_id", "name"))
TRANSACTION_ID_RE = PII.regex("transaction_id", "code")  # an id by its shape (the router looks for one)
# The gazetteer's names, also drawn by the conversation generator (so the gazetteer is tested on them).
_NAMES = domain_names("assistant")
FIRST_NAMES, LAST_NAMES = _NAMES["first_names"], _NAMES["last_names"]


def clean_text(text: str) -> str:
    """Normalise Unicode, drop control characters, shorten letter floods, collapse spaces."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C" or c == "\u200d")
    text = re.sub(r"([^\W\d_])\1{3,}", r"\1\1", text)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text)
    return text.strip()


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

    anonymiser: Anonymiser = field(default_factory=lambda: Anonymiser("assistant"))
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
        return {"anonymised": {k: v for k, v in self.anonymiser.counts.items() if v},
                "abbreviations_expanded": sum(self.normaliser.counts.values()),
                "top_abbreviations": dict(self.normaliser.counts.most_common(10))}
