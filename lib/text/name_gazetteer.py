"""Person names by a gazetteer of first names from a maintained source, used with context.

The source is Jörg Michael's `nam_dict.txt` (~45k first names with a frequency per country, 55 countries), as
shipped by the PyPI package `gender-guesser==0.4.0` (`gender_guesser/data/nam_dict.txt`). Licence, from the
file's header: "This file is subject to the GNU Free Documentation License ... Version 1.2 or any later
version" (copyright 2007-2008 Jörg Michael). The list is read, never modified or redistributed here.

Why context: the list is international, so it holds many ordinary words ("Il", "Le", "Son", "Mais", "Pierre",
"Rose", "Dieu"). A capitalised known first name is taken as a name only where its capital letter says
something: inside a sentence, or at a sentence/line start when another capitalised word follows ("Pierre
Gringoire"). The span then runs over the following capitalised words (surnames), the particles between them
("Olivier le Daim") and elided ones ("Charles d'Artagnan").

`gazetteer_spans` is one compiled regex over capitalised words plus set look-ups: a 5,000-character e-mail
takes about 1.4 ms. On the validation novel (Notre-Dame de Paris, 8,536 sentences, defaults, no not_names):
precision 0.947, recall 0.386, fully masked 0.371, 0.01 ms a sentence; recall is bounded by the list (the novel's
invented names, Gringoire, Quasimodo, Phoebus, are in no first-name list), so this is a complement to a tagger.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = "gender-guesser==0.4.0"
DEFAULT_PARTICLES: frozenset[str] = frozenset({"de", "du", "van", "von", "le", "la", "di", "da", "del"})
# Offsets in a name line of nam_dict.txt (0-based, per character): gender code, name, sort mark, countries.
_NAME_COLS = slice(3, 29)
_SORT_MARK_COL = 29  # '+': duplicate line sorted with expanded umlauts (same name, same data)
_FREQ_START, _N_COUNTRIES = 30, 55
_ENCODING_LINE = re.compile(r"^#\s*char set\s*=\s*([\w-]+)", re.IGNORECASE)
# Entries of the list that, in French/English mail and prose, are places, titles or feasts, almost never a person
# ("Paris" alone was 181 of 498 false alarms on the validation novel; "Ville", "Justice", "Dieu" are the
# "Hôtel de Ville", "Palais de Justice", "Hôtel-Dieu" of any French text). Real first names that are also places
# (Florence, Lorraine, Nancy, Victoria, Jordan) stay.
NOT_FIRST_NAMES: frozenset[str] = frozenset({
    "Paris", "France", "Ville", "Justice", "Dieu", "Christ", "Prince", "Duc", "Baron", "Reine", "Asie", "America",
    "London", "Lille", "Pau", "Albi", "Ascension", "Toussaint", "Easter", "Mac"})


class NameListMissing(ImportError):
    """gender-guesser (the package that ships the name list) is not installed."""


def name_list_path() -> Path:
    """Path of `nam_dict.txt` inside the installed gender_guesser package (found without importing it)."""
    spec = importlib.util.find_spec("gender_guesser")
    if spec is None or not spec.submodule_search_locations:
        raise NameListMissing(f"the name gazetteer needs the first-name list of gender-guesser: "
                              f"pip install {PACKAGE}")
    path = Path(spec.submodule_search_locations[0]) / "data" / "nam_dict.txt"
    if not path.is_file():
        raise NameListMissing(f"{path} not found (a broken gender-guesser install?): pip install {PACKAGE}")
    return path


def _encoding(path: Path) -> str:
    """The encoding the header declares (`# char set = utf-8` in 0.4.0; the original 2008 file was iso-8859-1)."""
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.startswith(b"#"):
                break
            m = _ENCODING_LINE.match(raw.decode("ascii", "replace"))
            if m:
                return m.group(1)
    return "iso-8859-1"


def _variants(name: str) -> list[str]:
    """The written forms of one list entry: '+' stands for '-', ' ' or nothing ("Jun+Wei"), per the header."""
    if "+" not in name:
        return [name]
    # The spaced form is two words; each is matched on its own, so only the one-word forms are kept.
    return [name.replace("+", "-"), name.replace("+", "")]


@lru_cache(maxsize=8)
def load_first_names(min_frequency: int = 1, min_length: int = 3,
                     exclude: frozenset[str] = NOT_FIRST_NAMES) -> frozenset[str]:
    """First names of the list (capitalised as written) with a frequency ≥ min_frequency in at least one country.

    Args:
        min_frequency: 1 (rare) to 13 (extremely common), the list's own per-country scale; 1 keeps every entry:
            university mail is international, and context (not rarity) is what separates names from words.
        min_length: shorter entries are dropped ("Le", "Il", "En", "De" are entries: too many function words).
        exclude: entries left out (`NOT_FIRST_NAMES`: places and titles the list also holds).
    """
    path = name_list_path()
    encoding = _encoding(path)
    names: set[str] = set()
    with path.open(encoding=encoding, errors="strict") as fh:
        for line in fh:
            if line[:1] in ("#", "=", "") or len(line) <= _FREQ_START:
                continue  # comments, "= short long" equivalences, blank lines
            name = line[_NAME_COLS].strip()
            freqs = line[_FREQ_START:_FREQ_START + _N_COUNTRIES]
            # Single hex digits 1..D per country, blank = absent; anything else is not a name line we understand.
            best = max((int(c, 16) for c in freqs if c != " " and c in "123456789ABCDabcd"), default=0)
            if best < min_frequency or not name:
                continue
            for form in _variants(name):
                # Skip forms we cannot read as a word (an unknown escape would show up as a non-letter here).
                if len(form) >= min_length and form[0].isupper() and all(c.isalpha() or c in "-'" for c in form):
                    names.add(form)
    return frozenset(n for n in names - exclude if n.lower() not in _function_words())


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """French and English stop words (spaCy's lists) and English month names: entries of the name list ("Mon",
    "Les", "The", "June") that in running text are almost always the word, not a person."""
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.fr.stop_words import STOP_WORDS as FR

    months = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december"}
    return frozenset(w.lower() for w in EN | FR) | frozenset(months)


# --- matching ------------------------------------------------------------------------------------------------

def _char_class(pred) -> str:
    """A regex character class of the BMP characters for which `pred` holds (re has no \\p{Lu})."""
    ranges, start, prev = [], None, None
    for cp in range(0x10000):
        if pred(chr(cp)):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    parts = [re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


_UPPER = _char_class(lambda c: c.isupper() or c.istitle())
_LETTER = r"[^\W\d_]"
_APOS = "'\u2019"
# Lower-case elided clitics written against a name: "d'Esmeralda", "qu'Anne", "l'Antoine"; also capitalised at a
# sentence start ("D'Anne"). "O'Brien" is not a clitic: it stays one word.
_CLITICS = r"(?:[dDlL]|[qQ]u|[jJ]usqu|[lL]orsqu|[pP]uisqu)"
# A capitalised word, optionally after an elided clitic; hyphen and apostrophe joins stay inside the word.
_WORD = re.compile(rf"(?<![\w{_APOS}-])(?:(?P<clitic>{_CLITICS})[{_APOS}])?"
                   rf"(?P<word>{_UPPER}{_LETTER}*(?:[{_APOS}-]{_LETTER}+)*)")
_SPACE = r"[ \t\u00a0\u202f]+"  # same line only: a name does not run over a line break (signatures, headers)
# Before a word: only these between it and a sentence end mean "sentence start" (dialogue dashes, quotes...).
_OPENERS = set(" \t\u00a0\u202f\"'«“‘‹([-–—\u2019")
_SENTENCE_END = set(".!?…:\n\r")
# A regnal number after a name ("Louis XI", "Charles V"): part of the name although all capitals. "I" alone is
# left out: "Thanks Marie I will..." is English, and French writes "François Ier".
_REGNAL = re.compile(r"(?:[IVXLC]{2,}|V|X)\Z")
# Abbreviations whose '.' does not end a sentence ("M. Jean", "Mme. Claire").
_ABBREVIATIONS = frozenset({"m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "pr", "prof", "me", "mr", "mrs", "ms",
                            "st", "ste", "mgr"})


@lru_cache(maxsize=16)
def _gap_regex(particles: frozenset[str]) -> re.Pattern:
    """What may separate two capitalised words of one name: spaces, up to two particles, or an elided "d'"."""
    alts = "|".join(sorted((re.escape(p) for p in particles), key=len, reverse=True))
    particle = rf"(?:{alts}){_SPACE}" if alts else "(?!)"
    return re.compile(rf"{_SPACE}(?:{particle}){{0,2}}(?:[dD][{_APOS}])?\Z")


def _is_acronym(word: str) -> bool:
    """All capitals and at most 5 letters ("UFR", "IUT", "ENSAE"): an acronym, not a name."""
    return word.isupper() and sum(c.isalpha() for c in word) <= 5


def _is_first_name(word: str, first_names: frozenset[str]) -> bool:
    """The word, or the first part of a hyphenated word ("Marie-Claire", "Jean-Baptiste"), is a known first name.

    Only the first part: a compound first name starts with one, while "Saint-Jean", "Notre-Dame", "Hôtel-Dieu"
    (places) end with one. On the validation novel, any part: precision 0.69; first part: 0.77, recall -0.009.
    """
    first = word.split("-", 1)[0]
    return first in first_names or (first.isupper() and first.capitalize() in first_names)


def _sentence_start(text: str, pos: int) -> bool:
    """Nothing but openers (spaces, quotes, dashes) between `pos` and the text start, a line break or a sentence end."""
    i = pos - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    if i < 0 or text[i] in _SENTENCE_END and text[i] != ".":
        return True
    if text[i] != ".":
        return False
    j = i
    while j > 0 and text[j - 1].isalpha():
        j -= 1
    return text[j:i].lower() not in _ABBREVIATIONS


def gazetteer_spans(text: str, first_names: frozenset[str] | None = None, not_names: frozenset[str] = frozenset(),
                    particles: frozenset[str] = DEFAULT_PARTICLES) -> list[tuple[int, int]]:
    """[start, end) spans of person names: a known first name in context, extended over the following surnames.

    Args:
        first_names: the gazetteer (None: `load_first_names()`).
        not_names: lower-case words that are never names nor parts of one (greetings, titles, closings).
        particles: lower-case words allowed between two capitalised words of one name ("de", "van").
    """
    if first_names is None:
        first_names = load_first_names()
    gap = _gap_regex(particles)
    words = [(m.start("word"), m.end("word"), m.start(), m.group("clitic") is not None, m.group("word"))
             for m in _WORD.finditer(text)]

    def usable(w: str) -> bool:  # a word that may be part of a name at all
        return not _is_acronym(w) and w.lower() not in not_names

    def joined(i: int) -> bool:  # word i+1 continues the name that word i is part of
        if i + 1 >= len(words):
            return False
        nxt = words[i + 1]
        if _REGNAL.match(nxt[4]) and not nxt[3]:
            return text[words[i][1]:nxt[0]] == " "
        if not usable(nxt[4]):
            return False
        # The gap runs to the word itself, so an elided particle ("Charles d'Artagnan") is checked as part of it.
        return gap.match(text, words[i][1], nxt[0]) is not None

    spans: list[tuple[int, int]] = []
    i, n = 0, len(words)
    while i < n:
        start, end, _, after_clitic, word = words[i]
        if not (usable(word) and _is_first_name(word, first_names)):
            i += 1
            continue
        follows = joined(i)
        # A capital at a sentence start says nothing, nor does a word in capitals ("le dossier ERASMUS"): alone,
        # these need a capitalised word after them ("CAMILLE DUBOIS"). After a clitic ("d'Anne") is mid-sentence.
        if not follows and (word.isupper() or not after_clitic and _sentence_start(text, start)):
            i += 1
            continue
        j = i
        while joined(j):
            j += 1
        spans.append((start, words[j][1]))
        i = j + 1
    return spans


def _main(argv: list[str]) -> int:  # pragma: no cover - a manual probe: python -m lib.text.name_gazetteer "text"
    names = load_first_names()
    print(f"{len(names)} first names from {name_list_path()}")
    for text in argv:
        print([text[s:e] for s, e in gazetteer_spans(text, names)])
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main(sys.argv[1:]))
