"""Real, hand-annotated French prose for person-name detection (`pii_fr_dev`), split by novel.

`../shared/data/pii_fr_dev/persons.jsonl` holds 27,935 sentences from four public-domain novels with every person
name marked by hand (plus LOC/ORG/MISC spans). It is text nobody in this project wrote, so it is the outside test
of the anonymiser. The split is by novel, never by sentence: sentences of one novel share their characters' names,
and a detector tuned on some sentences of a novel would be graded on names it has already seen.

- train: Les Trois Mousquetaires (the token classifier learns here);
- validation: Notre-Dame de Paris (every choice: post-filters, thresholds, epochs, the default detector);
- test: Bel-Ami and Eugénie Grandet (reported only; nothing is tuned on them).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("7romans/LesTroisMousquetaires",),
    "validation": ("7romans/NotreDameDeParis",),
    "test": ("7romans/BelAmi", "7romans/EugénieGrandet"),
}
RELATIVE_PATH = Path("pii_fr_dev") / "persons.jsonl"


class RealDataMissing(FileNotFoundError):
    """The shared real data set is not on this machine."""


def corpus_path(data_dir: str | Path | None = None) -> Path:
    """`<data_dir>/pii_fr_dev/persons.jsonl`; `data_dir` None → the shared real data (`lib.core.paths`)."""
    from lib.core.paths import real_data_dir

    base = Path(data_dir) if data_dir else real_data_dir()
    if base is None:
        raise RealDataMissing("the real PII corpus needs ../shared/data (or $CASEBOOK_REAL_DATA) with "
                              f"{RELATIVE_PATH}; offline, the demo inbox and the held-out templates still measure "
                              "the anonymiser (synthetic text)")
    path = base / RELATIVE_PATH if base.is_dir() and not str(base).endswith(".jsonl") else base
    if not path.is_file():
        raise RealDataMissing(f"{path} not found: the real PII corpus (pii_fr_dev) is not in {base}")
    return path


def load_persons(data_dir: str | Path | None = None, splits: Sequence[str] | None = None) -> pd.DataFrame:
    """The annotated sentences: columns text, persons [(start, end)], other [(start, end, label)], source, split.

    Args:
        splits: keep these splits only (`SPLITS`' keys); None keeps all.
    """
    path = corpus_path(data_dir)
    split_of = {src: name for name, sources in SPLITS.items() for src in sources}
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows.append({"text": str(row["text"]), "persons": [tuple(map(int, s)) for s in row["persons"]],
                             "other": [(int(s), int(e), str(k)) for s, e, k in row.get("other", [])],
                             "source": str(row["source"])})
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{n}: not a persons record ({err})") from err
    df = pd.DataFrame(rows)
    unknown = sorted(set(df["source"]) - set(split_of))
    if unknown:
        raise ValueError(f"{path}: sources {unknown} have no split in lib.text.pii_corpus.SPLITS")
    df["split"] = df["source"].map(split_of)
    if splits is not None:
        bad = sorted(set(splits) - set(SPLITS))
        if bad:
            raise ValueError(f"unknown splits {bad}; known: {sorted(SPLITS)}")
        df = df[df["split"].isin(list(splits))].reset_index(drop=True)
    return df


def person_gold(df: pd.DataFrame, kind: str = "PERSON") -> list[list[tuple[int, int, str]]]:
    """Gold spans in `evaluate_detection`'s form: one list of (start, end, kind) per sentence."""
    return [[(s, e, kind) for s, e in spans] for spans in df["persons"]]


def sample_sentences(df: pd.DataFrame, n: int | None, seed: int = 42) -> pd.DataFrame:
    """At most `n` sentences, the same share from each source (order kept); None or n ≥ len keeps all."""
    if n is None or n >= len(df):
        return df.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    share = n / len(df)
    keep = []
    for _, idx in df.groupby("source", sort=True).groups.items():
        idx = np.asarray(sorted(idx))
        k = max(1, int(round(share * len(idx))))
        keep += sorted(rng.choice(idx, size=min(k, len(idx)), replace=False).tolist())
    return df.loc[sorted(keep)].reset_index(drop=True)


def score_persons(anonymiser: Any, df: pd.DataFrame, progress: bool = False) -> dict[str, float]:
    """Person-name scores of an `Anonymiser` on annotated sentences: precision, recall, fully_masked, ms/text.

    Only PERSON predictions are graded (a sentence's place names may be masked as an address without being a
    false name); `fully_masked` counts a name as protected only when every character is covered.
    """
    import time

    kind = anonymiser.patterns.ner.get("kind", "PERSON")
    t0 = time.perf_counter()
    pred = anonymiser.detect_many(df["text"].tolist(), progress=progress)
    seconds = time.perf_counter() - t0
    return person_scores(df, [[s for s in spans if s.kind == kind] for spans in pred], seconds, kind)


def person_scores(df: pd.DataFrame, pred: Sequence[Sequence[Any]], seconds: float, kind: str = "PERSON"
                  ) -> dict[str, float]:
    """The row of `score_persons` for predictions made by anything (a list of `PiiSpan` per sentence)."""
    from lib.text.anonymise import evaluate_detection

    row = evaluate_detection(person_gold(df, kind), pred, [kind]).iloc[0]
    return {"sentences": int(len(df)), "names": int(row["gold"]), "precision": round(float(row["precision"]), 4),
            "recall": round(float(row["recall"]), 4), "fully_masked": round(float(row["fully_masked"]), 4),
            "ms_per_text": round(1000 * seconds / max(len(df), 1), 3)}
