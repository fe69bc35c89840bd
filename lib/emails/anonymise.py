"""PII detection and anonymisation with typed placeholders (<PERSON>, <EMAIL>, <PHONE>, <IBAN>, ...).

Patterns find the structured identifiers (e-mail addresses, French phone numbers, IBANs checked with
mod-97, student numbers, postal addresses, names after an honorific or in a signature/reply header);
spaCy's French NER (`fr_core_news_sm`, through the registry) adds the other person names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import pandas as pd

PII_TYPES = ("PERSON", "EMAIL", "PHONE", "STUDENT_ID", "IBAN", "ADDRESS")
PLACEHOLDERS = {t: f"<{t}>" for t in PII_TYPES}
# Earlier types win when spans overlap (an e-mail address is not also a name).
PRIORITY = ("EMAIL", "IBAN", "PHONE", "STUDENT_ID", "ADDRESS", "PERSON")

_UP = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
_LOW = "a-zàâäçéèêëîïôöùûüÿæœ"
_NAME = rf"[{_UP}][{_LOW}]+(?:[-'][{_UP}]?[{_LOW}]+)*"
_FULLNAME = rf"{_NAME}(?:[ \t]+(?:(?:de|du|van|von|le|la|di)[ \t]+)?{_NAME}){{0,2}}"  # never across lines

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![\w+])(?:(?:\+|00)33[\s.-]?(?:\(0\)[\s.-]?)?[1-9]|0[1-9])(?:[\s.-]?\d{2}){4}(?!\d)")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
STUDENT_RE = re.compile(r"(?<![\w.+/-])(?:[A-Z]{1,2}-?)?[1-9]\d{7}(?![\w/-]|\.\d)")
_STREET = (r"(?:rue|avenue|av\.|boulevard|bd|place|all[ée]e|chemin|impasse|quai|route|cours|square|passage"
           r"|voie|r[ée]sidence|lotissement|street|road|lane)")
ADDRESS_RE = re.compile(
    rf"(?<![\w])\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+{_STREET}\b[^\n,;.<>]{{2,60}}"
    rf"(?:,?\s*\d{{5}}\s+{_NAME}(?:[ -]{_NAME})*(?:\s+(?:CEDEX|Cedex)(?:\s\d+)?)?)?", re.I)
_HONORIFIC = r"(?:M\.|Mr\.?|Mrs\.?|Ms\.?|Mme|Mlle|Madame|Monsieur|Dr\.?|Pr\.?|Professeur|Professor|Dear)"
HONORIFIC_RE = re.compile(rf"\b(?:{_HONORIFIC}\s+)+(?!{_HONORIFIC}\b)({_FULLNAME})")
REPLY_NAME_RE = re.compile(rf"(?:,|\d\d:\d\d,?)\s*({_FULLNAME})\s*(?:<|&lt;)[^>\s&]+@[^>\s&]+(?:>|&gt;)")
CLOSING_RE = re.compile(
    r"^\s*(?:bien\s+)?(?:cordialement|(?:bien\s+)?[àa]\s+vous|salutations(?:\s+distingu[ée]es)?|best(?:\s+regards)?"
    r"|kind\s+regards|regards|sincerely|thanks|merci|respectueusement|cheers)\s*[,.!]?\s*(?:<br\s*/?>)?\s*$",
    re.I | re.M)
SHORT_COMMA_LINE_RE = re.compile(r"^[^\n]{3,40},[ \t]*(?:<br\s*/?>)?[ \t]*$", re.M)
SIGNATURE_NAME_RE = re.compile(rf"^[ \t]*({_FULLNAME})[ \t]*(?:<br\s*/?>)?[ \t]*$", re.M)
# Capitalised words spaCy sometimes tags PER in e-mails: greetings, closings, titles, acronyms.
_NOT_NAMES = {
    "bonjour", "bonsoir", "cordialement", "madame", "monsieur", "merci", "hello", "dear", "hi", "regards",
    "sincerely", "thanks", "master", "licence", "iban", "urgent", "tél", "tel", "phone", "objet", "re", "tr",
    "mme", "mlle", "dr", "pr", "erasmus", "ent", "caf", "ects", "cv", "rib", "bjr", "salut", "bien",
    "covid", "suis", "travailler", "je", "vous", "nous", "stage", "sent", "envoyé", "best", "kind",
    "sir", "madam", "could", "would", "please", "pouvez", "seriez", "this", "how", "are", "désolé",
}


@dataclass(frozen=True)
class PiiSpan:
    """A detected PII span: [start, end) in the text, its type and what found it."""

    start: int
    end: int
    kind: str
    source: str = "pattern"

    def as_tuple(self) -> tuple[int, int, str]:
        return (self.start, self.end, self.kind)


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 IBAN check, by python-stdnum (spaces ignored).

    `check_country=False`: the national BBAN check digits are not verified — a mistyped account number is
    still personal data to mask, and the mod-97 check alone already rules out random digit strings.
    """
    from stdnum import iban

    return bool(iban.is_valid(candidate, check_country=False))


def phone_spans(text: str, region: str = "FR") -> list[PiiSpan]:
    """Phone numbers found by Google's libphonenumber (`phonenumbers`): any written format of a valid number.

    Why both this and PHONE_RE: the library knows every numbering plan and separator style ("(+33) 6 ...",
    "0033...", "06-12-..."); the pattern keeps the French 10-digit numbers the library's validity rules reject
    (unassigned prefixes still read as a phone number by a person).
    """
    import phonenumbers

    return [PiiSpan(m.start, m.end, "PHONE", "phonenumbers")
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)]


def find_pattern_pii(text: str) -> list[PiiSpan]:
    """PII found by patterns alone (no NER): all types, possibly overlapping."""
    spans: list[PiiSpan] = []
    spans += [PiiSpan(m.start(), m.end(), "EMAIL") for m in EMAIL_RE.finditer(text)]
    spans += [PiiSpan(m.start(), m.end(), "IBAN") for m in IBAN_RE.finditer(text) if iban_is_valid(m.group(0))]
    spans += [PiiSpan(m.start(), m.end(), "PHONE") for m in PHONE_RE.finditer(text)]
    spans += phone_spans(text)
    spans += [PiiSpan(m.start(), m.end(), "STUDENT_ID") for m in STUDENT_RE.finditer(text)]
    spans += [PiiSpan(m.start(), m.end(), "ADDRESS") for m in ADDRESS_RE.finditer(text)]
    spans += [PiiSpan(m.start(1), m.end(1), "PERSON", "honorific") for m in HONORIFIC_RE.finditer(text)
              if m.group(1).split()[0].lower() not in _NOT_NAMES]
    spans += [PiiSpan(m.start(1), m.end(1), "PERSON", "reply-header") for m in REPLY_NAME_RE.finditer(text)]
    # a name alone on the line right after a closing formula (or any short line ending with a comma,
    # which catches misspelt closings) is the sender's signature
    for m in list(CLOSING_RE.finditer(text)) + list(SHORT_COMMA_LINE_RE.finditer(text)):
        nxt = SIGNATURE_NAME_RE.match(text, m.end() + 1) if m.end() < len(text) else None
        if nxt and nxt.group(1).split()[0].lower() not in _NOT_NAMES:
            spans.append(PiiSpan(nxt.start(1), nxt.end(1), "PERSON", "signature"))
    return spans


def _ner_person_spans(doc: Any) -> list[PiiSpan]:
    """PER entities of a spaCy doc, minus the usual false alarms."""
    out = []
    for ent in doc.ents:
        if ent.label_ != "PER":
            continue
        tokens = [t for t in ent if not t.is_punct]
        if not tokens:
            continue
        words = [t.text for t in tokens]
        if any(ch.isdigit() or ch in "@<>/_" for w in words for ch in w):
            continue
        if all(w.lower() in _NOT_NAMES for w in words) or "I" in words:
            continue
        if not all(w[:1].isupper() or w.lower() in ("de", "du", "van", "von", "le", "la", "di") for w in words):
            continue
        if len(words) == 1 and (words[0].isupper() and len(words[0]) <= 5):
            continue  # acronyms (ENT, CAF, ECTS)
        before = doc.text[:tokens[0].idx].rstrip(" \t")
        if len(words) == 1 and (not before or before[-1] in ".!?:;\n>(\"-"):
            continue  # a capitalised sentence-initial word is far more often a verb than a name
        out.append(PiiSpan(tokens[0].idx, tokens[-1].idx + len(tokens[-1].text), "PERSON", "ner"))
    return out


def resolve_overlaps(spans: Iterable[PiiSpan]) -> list[PiiSpan]:
    """Keep non-overlapping spans, preferring the higher-priority type, then the longer span."""
    rank = {k: i for i, k in enumerate(PRIORITY)}
    chosen: list[PiiSpan] = []
    for s in sorted(spans, key=lambda s: (rank.get(s.kind, 99), -(s.end - s.start), s.start)):
        if all(s.end <= c.start or s.start >= c.end for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def replace_spans(text: str, spans: Sequence[PiiSpan]) -> str:
    """Replace each span by its typed placeholder (spans must not overlap)."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out.append(text[pos:s.start])
        out.append(PLACEHOLDERS.get(s.kind, f"<{s.kind}>"))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


class Anonymiser:
    """Detect and mask PII. `use_ner=False` keeps to patterns (fast, no spaCy)."""

    def __init__(self, use_ner: bool = True, ner_model: str = "fr_core_news_sm", batch_size: int = 64):
        self.use_ner = use_ner
        self.ner_model = ner_model
        self.batch_size = batch_size
        self._nlp = None

    @property
    def nlp(self) -> Any:
        """The spaCy pipeline (loaded once, through the registry; only the NER component runs)."""
        if self._nlp is None:
            from lib.core.registry import load_ner

            nlp = load_ner(self.ner_model)
            # NER in the small French model has its own embedding layer (the shared tok2vec has no
            # listeners), so every other component only costs time.
            if "ner" in nlp.pipe_names:
                nlp.select_pipes(enable=["ner"])
            self._nlp = nlp
        return self._nlp

    def detect_many(self, texts: Sequence[str], progress: bool = False) -> list[list[PiiSpan]]:
        """PII spans of each text (patterns + NER), overlaps resolved."""
        texts = ["" if t is None else str(t) for t in texts]
        spans = [find_pattern_pii(t) for t in texts]
        if self.use_ner:
            docs = self.nlp.pipe(texts, batch_size=self.batch_size)
            if progress:
                from tqdm.auto import tqdm

                docs = tqdm(docs, total=len(texts), desc="NER (spaCy)")
            for i, doc in enumerate(docs):
                spans[i] += _ner_person_spans(doc)
        return [resolve_overlaps(s) for s in spans]

    def detect(self, text: str) -> list[PiiSpan]:
        """PII spans of one text."""
        return self.detect_many([text])[0]

    def anonymise_many(self, texts: Sequence[str], progress: bool = False) -> list[str]:
        """Texts with each PII span replaced by its typed placeholder."""
        texts = ["" if t is None else str(t) for t in texts]
        return [replace_spans(t, s) for t, s in zip(texts, self.detect_many(texts, progress=progress))]

    def anonymise(self, text: str) -> str:
        """One text with its PII replaced by typed placeholders."""
        return self.anonymise_many([text])[0]


def evaluate_detection(gold: Sequence[Sequence[tuple[int, int, str]]], pred: Sequence[Sequence[PiiSpan]],
                       types: Sequence[str] = PII_TYPES) -> pd.DataFrame:
    """Precision/recall/F1 per PII type; a span counts when it overlaps one of the same type.

    Also reports `masked_recall`: the share of gold spans overlapped by a prediction of any type
    (the value is at least partly hidden, even if mislabelled), and `fully_masked`: the share of gold
    spans entirely covered by predictions (what privacy needs: "Marie <PERSON>" still leaks "Marie").
    """
    rows = []
    for kind in types:
        tp_p = fp = tp_g = fn = masked = full = 0
        for g_spans, p_spans in zip(gold, pred):
            g = [(s, e) for s, e, k in g_spans if k == kind]
            p = [(s.start, s.end) for s in p_spans if s.kind == kind]
            allp = [(s.start, s.end) for s in p_spans]
            for ps, pe in p:
                if any(ps < ge and pe > gs for gs, ge in g):
                    tp_p += 1
                else:
                    fp += 1
            for gs, ge in g:
                if any(ps < ge and pe > gs for ps, pe in p):
                    tp_g += 1
                else:
                    fn += 1
                masked += any(ps < ge and pe > gs for ps, pe in allp)
                covered = set()
                for ps, pe in allp:
                    covered.update(range(max(ps, gs), min(pe, ge)))
                full += len(covered) == ge - gs
        n_gold = tp_g + fn
        prec = tp_p / (tp_p + fp) if tp_p + fp else float("nan")
        rec = tp_g / n_gold if n_gold else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if prec == prec and rec == rec and prec + rec else float("nan")
        rows.append({"type": kind, "gold": n_gold, "predicted": tp_p + fp, "precision": prec, "recall": rec,
                     "f1": f1, "masked_recall": masked / n_gold if n_gold else float("nan"),
                     "fully_masked": full / n_gold if n_gold else float("nan")})
    return pd.DataFrame(rows)


def residual_pii(texts: Sequence[str], values: dict[str, set[str]], min_len: int = 4) -> pd.DataFrame:
    """How many known raw PII values still appear verbatim in the (anonymised) texts, by type."""
    joined = "\n".join(texts)
    rows = []
    for kind, vals in values.items():
        vals = {v for v in vals if len(v) >= min_len}
        leaked = sorted(v for v in vals if v in joined)
        rows.append({"type": kind, "distinct_values": len(vals), "still_present": len(leaked),
                     "leak_rate": len(leaked) / len(vals) if vals else float("nan")})
    return pd.DataFrame(rows)
