"""Leak scan: known raw PII values found in what a run leaves behind (reports, executed notebooks, saved models).

Anonymisation is judged where it matters: a name the detector missed reaches the TF-IDF vocabulary saved under
`models/`, the model card, the LIME tables and the executed notebooks under `reports/`. On the demo inbox every
raw value is known (`lib.emails.demo.demo_pii_values`), so the files can be searched for them:

- text files (HTML, JSON, Markdown, CSV, YAML, plain text; of a notebook, its outputs): each value of at least `min_len`
  characters, verbatim and as a whole word (case kept: "Petit" the surname, not "petit" the adjective);
- pickled models (`.joblib`, `.pkl`): every fitted vectoriser's vocabulary, against the words of person names
  and e-mail addresses in lower case (what a vectoriser keeps), as `lib.emails.evaluate.pii_in_vocabulary`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

_IMAGES = re.compile(r'(?:data:image/[\w.+-]+;base64,|"image/(?:png|jpeg|svg\+xml)":\s*")[A-Za-z0-9+/=\\n]+')
_SCRIPTS = re.compile(r"<script\b.*?</script>", re.IGNORECASE | re.DOTALL)
TEXT_SUFFIXES = {".html", ".htm", ".json", ".md", ".ipynb", ".csv", ".txt", ".yaml", ".yml", ".log"}
MODEL_SUFFIXES = {".joblib", ".pkl"}


def vocabularies(obj: Any, depth: int = 0) -> set[str]:
    """The terms of every fitted vectoriser inside `obj` (pipelines, unions, column transformers, dicts)."""
    if depth > 6 or obj is None:
        return set()
    terms: set[str] = set()
    vocab = getattr(obj, "vocabulary_", None)
    if isinstance(vocab, Mapping):
        terms |= {str(t) for t in vocab}
    children: list[Any] = []
    if isinstance(obj, Mapping):
        children += list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children += list(obj)
    for attr in ("steps", "transformer_list", "transformers_", "estimators_", "estimator", "base_estimator",
                 "calibrated_classifiers_"):
        value = getattr(obj, attr, None)
        if value is not None and not isinstance(value, (str, bytes)):
            children += list(value) if isinstance(value, (list, tuple)) else [value]
    for child in children:
        terms |= vocabularies(child, depth + 1)
    return terms


def _vocabulary_tokens(values: Mapping[str, Iterable[str]], min_len: int) -> set[str]:
    """Lower-case words of names and e-mail addresses: what a vectoriser would have kept of them."""
    tokens = set()
    for kind, vals in values.items():
        if kind.upper() not in ("PERSON", "EMAIL", "NAME"):
            continue
        for v in vals:
            v = str(v).split("@")[0] if kind.upper() == "EMAIL" else str(v)  # a mail domain is not personal
            tokens |= {w.lower() for w in re.split(r"[\s.@_+-]+", v) if len(w) >= min_len and not w.isdigit()}
    return tokens


def scan_for_pii(roots: Iterable[str | Path], values: Mapping[str, Iterable[str]], min_len: int = 4,
                 max_bytes: int = 50_000_000) -> pd.DataFrame:
    """One row per (file, kind) where known values were found: file, kind, found, examples (masked).

    Args:
        roots: files or folders (searched recursively); missing ones are skipped.
        values: raw PII values by kind (e.g. `demo_pii_values(inbox)`).
        min_len: shorter values are not searched (too many chance matches).
    Returns:
        The hits; an empty frame (with the columns) means nothing leaked.
    """
    import joblib

    vals = {k: sorted({str(v) for v in vs if len(str(v)) >= min_len}) for k, vs in values.items()}
    vocab_tokens = _vocabulary_tokens(values, min_len)
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files += sorted(p for p in root.rglob("*") if p.is_file())
    rows = []
    for path in files:
        suffix = path.suffix.lower()
        if path.stat().st_size > max_bytes or suffix not in TEXT_SUFFIXES | MODEL_SUFFIXES:
            continue
        if suffix in TEXT_SUFFIXES:
            # embedded plots are base64: megabytes that hold no text (and cannot hold a name)
            text = _IMAGES.sub("", _readable_text(path))
            for kind, vs in vals.items():
                found = [v for v in vs if v in text and _whole_word(v, text)]
                if found:
                    rows.append({"file": str(path), "kind": kind, "found": len(found),
                                 "examples": [_mask(v) for v in found[:3]]})
            continue
        try:
            terms = vocabularies(joblib.load(path))
        except Exception as err:  # an unreadable pickle is reported, not skipped silently
            rows.append({"file": str(path), "kind": "unreadable", "found": 0, "examples": [type(err).__name__]})
            continue
        leaked = sorted(t for t in vocab_tokens if t in terms)
        if leaked:
            rows.append({"file": str(path), "kind": "vocabulary", "found": len(leaked),
                         "examples": [_mask(t) for t in leaked[:3]]})
    return pd.DataFrame(rows, columns=["file", "kind", "found", "examples"])


def _readable_text(path: Path) -> str:
    """A file's text; of an executed notebook, only its outputs (its sources are the committed notebook's)."""
    # scripts embedded in HTML outputs (LIME ships lodash, whose comments cite "David Corbacho") are code, not data
    raw = _SCRIPTS.sub("", path.read_text(encoding="utf-8", errors="ignore"))
    if path.suffix.lower() != ".ipynb":
        return raw
    import json

    try:
        cells = json.loads(raw).get("cells", [])
    except ValueError:
        return raw  # not JSON after all: search it whole
    return json.dumps([c.get("outputs", []) for c in cells], ensure_ascii=False)


def _whole_word(value: str, text: str) -> bool:
    """`value` occurs in `text` not glued to a letter or digit ("Martin" in "Martine" is not a hit)."""
    return re.search(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text) is not None


def _mask(value: str) -> str:
    """A value shown without revealing it: first letter and length ("M*****", 6)."""
    return value[:1] + "*" * (len(value) - 1)
