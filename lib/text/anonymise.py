"""PII detection and masking: one engine, with each domain's patterns as data (`lib/<domain>/pii.yaml`).

A domain's file lists its PII kinds (with their placeholders and an overlap priority) and the rules that find
them, in order: regular expressions (optionally a capture group, a check of the value — IBAN mod-97 by
python-stdnum, or not a known non-name —, a value to ignore, an anchor line before), Google's libphonenumber
(`phonenumbers`) for a region, and a gazetteer of names.
A named person-name detector (`lib.text.name_detectors`: spaCy sm/md, the fine-tuned tagger, a gazetteer) adds the
names no pattern can find. Every domain gets the same behaviour:

1. every rule runs on the original text (spans may overlap);
2. overlaps are resolved: the kind earlier in `priority` wins, then the longer span;
3. each span becomes its kind's placeholder; spans of the same kind separated only by whitespace become one
   placeholder ("<PERSON> <PERSON>" says no more than "<PERSON>"); `counts` keeps how many spans of each kind
   were masked.

Domains today: `emails` (study 1: typed placeholders `<PERSON>`, `<PHONE>`...) and `assistant` (study 3:
`[TELEPHONE]`, `[ID_TRANSACTION]`, `[NOM]`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd
import yaml

LIB = Path(__file__).resolve().parents[1]
_FRAGMENT = re.compile(r"\{\{(\w+)\}\}")
_FLAGS = {"ignore_case": re.IGNORECASE, "multiline": re.MULTILINE}
_RULE_KEYS = {"kind", "source", "regex", "group", "check", "not_if", "after", "phonenumbers", "names",
              *_FLAGS}
_DOMAIN_KEYS = {"description", "placeholders", "priority", "fragments", "rules", "ner", "not_names",
                "name_particles"}


@dataclass(frozen=True)
class PiiSpan:
    """A detected PII span: [start, end) in the text, its kind and what found it."""

    start: int
    end: int
    kind: str
    source: str = "pattern"


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 IBAN check, by python-stdnum (spaces ignored).

    `check_country=False`: the national BBAN check digits are not verified — a mistyped account number is
    still personal data to mask, and the mod-97 check alone already rules out random digit strings.
    """
    from stdnum import iban

    return bool(iban.is_valid(candidate, check_country=False))


def phone_spans(text: str, region: str, kind: str = "PHONE") -> list[PiiSpan]:
    """Phone numbers found by Google's libphonenumber (`phonenumbers`): any written format of a valid number.

    Domains use it beside their own phone pattern: the library knows every numbering plan and separator style
    ("(+33) 6 ...", "0033...", "+225 07..."); the pattern keeps the numbers its validity rules reject
    (unassigned prefixes still read as a phone number by a person).
    """
    import phonenumbers

    return [PiiSpan(m.start, m.end, kind, "phonenumbers")
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)]


@dataclass(frozen=True)
class Rule:
    """One way of finding a kind of PII (built from a domain file; see the module docstring)."""

    kind: str
    source: str
    regex: re.Pattern | None = None
    group: int | str = 0
    check: str | None = None  # "iban" (mod-97) or "name" (first word not in the domain's not_names)
    not_if: re.Pattern | None = None  # a value matching this entirely is not PII (e.g. an amount)
    after: tuple[re.Pattern, ...] = ()  # the match starts on the line right after a match of one of these
    region: str | None = None  # phonenumbers' region, for a library rule


@dataclass(frozen=True)
class PiiPatterns:
    """A domain's PII kinds, placeholders, priority and rules (`PiiPatterns.load("emails")`)."""

    domain: str
    placeholders: dict[str, str]
    priority: tuple[str, ...]
    rules: tuple[Rule, ...]
    ner: dict[str, Any] = field(default_factory=dict)  # detector, kind, default (use it unless told otherwise)
    not_names: frozenset[str] = frozenset()  # capitalised words that are not names (checks and NER)
    name_particles: frozenset[str] = frozenset()  # lower-case words inside names ("de", "van")

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.priority

    @classmethod
    def load(cls, domain: str) -> "PiiPatterns":
        """The patterns in `lib/<domain>/pii.yaml` (read once)."""
        return _load_domain(domain)

    @classmethod
    def from_file(cls, path: str | Path, domain: str | None = None) -> "PiiPatterns":
        """Read and compile a domain file; unknown keys, kinds without a placeholder and bad regexes are errors."""
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls.from_dict(data, domain or path.parent.name, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], domain: str, source: str = "<dict>") -> "PiiPatterns":
        """Compile a domain given as a dict (the YAML file's content)."""
        unknown = set(data) - _DOMAIN_KEYS
        if unknown:
            raise ValueError(f"{source}: unknown keys {sorted(unknown)}; known: {sorted(_DOMAIN_KEYS)}")
        priority = tuple(data["priority"])
        placeholders = dict(data["placeholders"])
        if set(priority) != set(placeholders):
            raise ValueError(f"{source}: priority {priority} and placeholders {sorted(placeholders)} "
                             "must name the same kinds")
        fragments: dict[str, str] = {}
        for name, value in (data.get("fragments") or {}).items():
            fragments[name] = _expand(_join(value), fragments, source)
        rules = tuple(_rule(r, fragments, set(priority), source) for r in data["rules"])
        ner = dict(data.get("ner") or {})
        if ner and ner.get("kind") not in placeholders:
            raise ValueError(f"{source}: ner.kind {ner.get('kind')!r} has no placeholder")
        if set(ner) - {"detector", "kind", "default"}:
            raise ValueError(f"{source}: unknown ner keys {sorted(set(ner) - {'detector', 'kind', 'default'})}; "
                             "known: detector, kind, default")
        if "detector" in ner:
            from lib.text.name_detectors import parse_detector

            parse_detector(ner["detector"])  # an unknown name fails when the file is read, not at first use
        return cls(domain, placeholders, priority, rules, ner,
                   frozenset(w.lower() for w in data.get("not_names") or ()),
                   frozenset(data.get("name_particles") or ()))

    def regex(self, kind: str, source: str | None = None) -> re.Pattern:
        """The compiled pattern of the first regex rule for `kind` (and `source`), for code that reads tags."""
        for r in self.rules:
            if r.kind == kind and r.regex is not None and source in (None, r.source):
                return r.regex
        raise KeyError(f"{self.domain}: no pattern for kind {kind!r}" + (f" and source {source!r}" if source else ""))

    def find(self, text: str) -> list[PiiSpan]:
        """Every span the rules find (no NER), possibly overlapping."""
        spans: list[PiiSpan] = []
        for rule in self.rules:
            spans += self._apply(rule, text)
        return spans

    def _apply(self, rule: Rule, text: str) -> list[PiiSpan]:
        if rule.region is not None:
            return phone_spans(text, rule.region, rule.kind)
        if rule.after:
            starts = [m.end() + 1 for rx in rule.after for m in rx.finditer(text) if m.end() < len(text)]
            matches = [m for m in (rule.regex.match(text, s) for s in starts) if m]
        else:
            matches = list(rule.regex.finditer(text))
        out = []
        for m in matches:
            value = m.group(rule.group)
            if rule.not_if is not None and rule.not_if.fullmatch(value):
                continue
            if rule.check and not _CHECKS[rule.check](value, self):
                continue
            out.append(PiiSpan(m.start(rule.group), m.end(rule.group), rule.kind, rule.source))
        return out

    def resolve_overlaps(self, spans: Iterable[PiiSpan]) -> list[PiiSpan]:
        """Keep non-overlapping spans, preferring the kind earlier in `priority`, then the longer span."""
        rank = {k: i for i, k in enumerate(self.priority)}
        chosen: list[PiiSpan] = []
        for s in sorted(spans, key=lambda s: (rank.get(s.kind, len(rank)), -(s.end - s.start), s.start)):
            if all(s.end <= c.start or s.start >= c.end for c in chosen):
                chosen.append(s)
        return sorted(chosen, key=lambda s: s.start)

    def replace(self, text: str, spans: Sequence[PiiSpan]) -> str:
        """Replace each span by its placeholder (spans must not overlap); same-kind neighbours merge."""
        out, pos, last = [], 0, None
        for s in sorted(spans, key=lambda s: s.start):
            gap = text[pos:s.start]
            if last is not None and last.kind == s.kind and not gap.strip():
                pos, last = s.end, s  # "<NAME> <NAME>" → one placeholder
                continue
            out += [gap, self.placeholders.get(s.kind, f"<{s.kind}>")]
            pos, last = s.end, s
        out.append(text[pos:])
        return "".join(out)


def _join(value: str | list[str]) -> str:
    """A regex written as one string, or as a list of strings to concatenate (long patterns)."""
    return "".join(value) if isinstance(value, list) else str(value)


def _expand(pattern: str, fragments: dict[str, str], source: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1) not in fragments:
            raise ValueError(f"{source}: unknown fragment {{{{{m.group(1)}}}}} (define it above its first use)")
        return fragments[m.group(1)]

    return _FRAGMENT.sub(sub, pattern)


def _rule(spec: dict[str, Any], fragments: dict[str, str], kinds: set[str], source: str) -> Rule:
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise ValueError(f"{source}: rule {spec.get('kind')!r}: unknown keys {sorted(unknown)}")
    kind = spec["kind"]
    if kind not in kinds:
        raise ValueError(f"{source}: rule kind {kind!r} is not in priority {sorted(kinds)}")
    ways = [k for k in ("regex", "phonenumbers", "names") if k in spec]
    if len(ways) != 1:
        raise ValueError(f"{source}: rule {kind!r} needs exactly one of regex, phonenumbers, names; got {ways}")
    if spec.get("check") not in (None, *_CHECKS):
        raise ValueError(f"{source}: rule {kind!r}: unknown check {spec['check']!r}; known: {sorted(_CHECKS)}")
    flags = 0
    for key, flag in _FLAGS.items():
        flags |= flag if spec.get(key) else 0

    def compile_(pattern: str | list[str]) -> re.Pattern:
        text = _expand(_join(pattern), fragments, source)
        try:
            return re.compile(text, flags)
        except re.error as err:
            raise ValueError(f"{source}: rule {kind!r}: bad regex ({err}): {text}") from err

    if "phonenumbers" in spec:
        return Rule(kind, spec.get("source", "phonenumbers"), region=str(spec["phonenumbers"]))
    if "names" in spec:
        words = sorted({str(n) for group in spec["names"].values() for n in group}, key=lambda n: (-len(n), n))
        body = r"(?<![\w'’])(?:" + "|".join(re.escape(n) for n in words) + r")(?![\w'’])"
        return Rule(kind, spec.get("source", "gazetteer"), re.compile(body, flags))
    return Rule(kind, spec.get("source", "pattern"), compile_(spec["regex"]), spec.get("group", 0), spec.get("check"),
                compile_(spec["not_if"]) if "not_if" in spec else None,
                tuple(compile_(a) for a in spec.get("after", ())))


_CHECKS: dict[str, Callable[[str, PiiPatterns], bool]] = {
    "iban": lambda value, _: iban_is_valid(value),
    "name": lambda value, p: value.split()[0].lower() not in p.not_names,
}


@lru_cache(maxsize=None)
def _load_domain(domain: str) -> PiiPatterns:
    path = LIB / domain / "pii.yaml"
    if not path.is_file():
        known = sorted(p.parent.name for p in LIB.glob("*/pii.yaml"))
        raise ValueError(f"no PII patterns for domain {domain!r} ({path} missing); known domains: {known}")
    return PiiPatterns.from_file(path, domain)


@lru_cache(maxsize=None)
def domain_names(domain: str, source: str = "gazetteer") -> dict[str, tuple[str, ...]]:
    """The name lists of a domain's gazetteer rule, as written in its file (e.g. for a data generator); read once."""
    data = yaml.safe_load((LIB / domain / "pii.yaml").read_text(encoding="utf-8"))
    for spec in data["rules"]:
        if "names" in spec and spec.get("source", "gazetteer") == source:
            return {k: tuple(v) for k, v in spec["names"].items()}
    raise KeyError(f"{domain}: no names rule with source {source!r}")


MAX_CHUNK = 50_000  # characters handed to one NER call (spaCy refuses texts over 1,000,000 and slows before)


def to_text(value: Any) -> str:
    """Any input as text to scan: None → "", bytes decoded as UTF-8 (undecodable bytes replaced), NULs removed."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise TypeError(f"the anonymiser takes text (str, bytes or None), not {type(value).__name__}")
    return value.replace("\x00", "")


def chunk_bounds(text: str, size: int = MAX_CHUNK) -> list[tuple[int, int]]:
    """[start, end) pieces of at most ~`size` characters, cut at a line break or a space when one is near."""
    bounds, start = [], 0
    while len(text) - start > size:
        end = start + size
        cut = max(text.rfind("\n", start + size // 2, end), text.rfind(" ", start + size // 2, end))
        end = cut + 1 if cut > start else end
        bounds.append((start, end))
        start = end
    bounds.append((start, len(text)))
    return bounds


class Anonymiser:
    """Detect and mask a domain's PII: the domain's patterns plus a named person-name detector.

    Args:
        patterns: a domain name (`lib/<domain>/pii.yaml`) or loaded patterns.
        detector: the name detector (`lib.text.name_detectors`: "spacy-md", "spacy-sm", "tagger", "gazetteer",
            "rules", joined with "+"); None → the domain's `ner.detector`.
        use_ner: False keeps to the patterns (detector "rules"); None/True use `detector`.
        ner_model: the first version's setting (a spaCy package): its exact pipeline, "spacy-<size>-v1".
    """

    def __init__(self, patterns: str | PiiPatterns, use_ner: bool | None = None, ner_model: str | None = None,
                 batch_size: int = 64, detector: str | None = None, tagger_dir: str | None = None):
        from lib.text.name_detectors import SPACY_MODELS, parse_detector

        self.patterns = PiiPatterns.load(patterns) if isinstance(patterns, str) else patterns
        ner = self.patterns.ner
        if detector is None and ner_model is not None:
            size = {v: k for k, v in SPACY_MODELS.items()}.get(ner_model)
            if size is None:
                raise ValueError(f"ner_model {ner_model!r}: known spaCy models {sorted(SPACY_MODELS.values())}")
            detector = f"spacy-{size}-v1"
        if use_ner is False:
            detector = "rules"
        elif detector is None:  # the domain's detector, when the domain uses one by default or when asked
            detector = ner.get("detector", "rules") if (use_ner or ner.get("default", False)) else "rules"
        if detector != "rules" and not ner:
            raise ValueError(f"domain {self.patterns.domain!r} has no `ner` settings (kind of the names found)")
        self.components = parse_detector(detector)
        self.detector = "+".join(c.name for c in self.components) or "rules"
        self.use_ner = bool(self.components)
        self.batch_size = batch_size
        self.tagger_dir = tagger_dir
        self.counts: Counter = Counter()

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.patterns.kinds

    def detect_many(self, texts: Sequence[Any], progress: bool = False) -> list[list[PiiSpan]]:
        """PII spans of each text (patterns + the detector's names), overlaps resolved.

        Texts longer than `MAX_CHUNK` are scanned in pieces cut at white space (offsets are those of the
        whole text), so a megabyte of text is masked, not refused; None is empty; bytes are decoded.
        """
        from lib.text.name_detectors import component_spans

        texts = [to_text(t) for t in texts]
        pieces, owner = [], []
        for i, text in enumerate(texts):
            for start, end in chunk_bounds(text):
                pieces.append(text[start:end])
                owner.append((i, start))
        spans: list[list[PiiSpan]] = [[] for _ in texts]
        found = [self.patterns.find(p) for p in pieces]
        kind = self.patterns.ner.get("kind", "PERSON")
        for component in self.components:
            for k, extra in enumerate(component_spans(component, pieces, self.patterns, kind, progress,
                                                      self.batch_size, self.tagger_dir)):
                found[k] += extra
        for (i, start), piece_spans in zip(owner, found):
            spans[i] += [PiiSpan(s.start + start, s.end + start, s.kind, s.source) for s in piece_spans]
        return [self.patterns.resolve_overlaps(s) for s in spans]

    def anonymise_many(self, texts: Sequence[Any], progress: bool = False) -> list[str]:
        """Texts with each PII span replaced by its placeholder; `counts` adds the spans masked, by kind."""
        texts = [to_text(t) for t in texts]
        out = []
        for text, spans in zip(texts, self.detect_many(texts, progress=progress)):
            self.counts.update(s.kind for s in spans)
            out.append(self.patterns.replace(text, spans))
        return out

    def anonymise(self, text: Any) -> str:
        """One text with its PII replaced by placeholders."""
        return self.anonymise_many([text])[0]

    __call__ = anonymise


def evaluate_detection(gold: Sequence[Sequence[tuple[int, int, str]]], pred: Sequence[Sequence[PiiSpan]],
                       types: Sequence[str] | None = None) -> pd.DataFrame:
    """Precision/recall/F1 per PII kind; a span counts when it overlaps one of the same kind.

    Also reports `masked_recall`: the share of gold spans overlapped by a prediction of any kind
    (the value is at least partly hidden, even if mislabelled), and `fully_masked`: the share of gold
    spans entirely covered by predictions (what privacy needs: "Marie <PERSON>" still leaks "Marie").

    Args:
        types: the kinds to report, in this order (None: every kind in `gold` or `pred`, sorted).
    """
    if types is None:
        types = sorted({k for g in gold for _, _, k in g} | {s.kind for p in pred for s in p})
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
    """How many known raw PII values still appear verbatim in the (anonymised) texts, by kind."""
    joined = "\n".join(texts)
    rows = []
    for kind, vals in values.items():
        vals = {v for v in vals if len(v) >= min_len}
        leaked = sorted(v for v in vals if v in joined)
        rows.append({"type": kind, "distinct_values": len(vals), "still_present": len(leaked),
                     "leak_rate": len(leaked) / len(vals) if vals else float("nan")})
    return pd.DataFrame(rows)
