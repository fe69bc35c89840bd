"""The real PII corpus: split by novel, loaded with clear errors."""
from __future__ import annotations

import json

import pytest

from lib.text.pii_corpus import SPLITS, RealDataMissing, load_persons, person_gold, sample_sentences


def _write(folder, rows):
    (folder / "pii_fr_dev").mkdir(parents=True)
    (folder / "pii_fr_dev" / "persons.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")


def test_split_by_novel_and_gold_spans(tmp_path):
    rows = [{"text": f"Marie {i}", "persons": [[0, 5]], "other": [], "source": src}
            for src in (SPLITS["train"][0], SPLITS["validation"][0], SPLITS["test"][0], SPLITS["test"][1])
            for i in range(5)]
    _write(tmp_path, rows)
    test = load_persons(tmp_path, splits=["test"])
    assert set(test["source"]) == set(SPLITS["test"]) and len(test) == 10
    assert person_gold(test)[0] == [(0, 5, "PERSON")]
    assert len(sample_sentences(test, 4)) == 4 and set(sample_sentences(test, 4)["source"]) == set(SPLITS["test"])
    with pytest.raises(ValueError, match="unknown splits"):
        load_persons(tmp_path, splits=["dev"])


def test_splits_do_not_share_a_novel():
    sources = [s for group in SPLITS.values() for s in group]
    assert len(sources) == len(set(sources))


def test_missing_or_broken_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(RealDataMissing, match="pii_fr_dev"):
        load_persons(tmp_path)
    _write(tmp_path, [{"text": "x", "persons": [[0, 1]], "other": [], "source": "some/other-book"}])
    with pytest.raises(ValueError, match="no split"):
        load_persons(tmp_path)


def test_the_real_corpus_loads_with_its_four_novels(real_data):
    df = load_persons(real_data)
    assert set(df["split"]) == set(SPLITS) and len(df) > 20_000
    assert all(df["text"].str.len() >= 1)
