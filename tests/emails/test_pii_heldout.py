"""The held-out PII set: spans point at their values, values and templates the demo generator never uses."""
from __future__ import annotations

from lib.emails import demo, pii_heldout
from lib.text.anonymise import PiiPatterns, iban_is_valid


def test_heldout_spans_point_at_typed_values_and_cover_every_type():
    df = pii_heldout.generate_heldout_pii(200, seed=3)
    kinds = set()
    for row in df.itertuples():
        for start, end, kind in row.pii:
            value = row.text[start:end]
            assert value and value == value.strip(), (row.text, value)
            kinds.add(kind)
            if kind == "IBAN":
                assert iban_is_valid(value)  # mod-97 valid, so a miss is the detector's
    assert kinds == {"PERSON", "EMAIL", "PHONE", "IBAN", "STUDENT_ID", "ADDRESS"}
    assert df.equals(pii_heldout.generate_heldout_pii(200, seed=3))  # deterministic


def test_heldout_values_are_not_the_generators():
    assert not set(pii_heldout.FIRST_NAMES) & set(demo.FIRST)
    assert not set(pii_heldout.LAST_NAMES) & set(demo.LAST)
    assert not set(pii_heldout.DOMAINS) & set(demo.DOMAINS)
    assert not set(pii_heldout.STREETS) & set(demo.STREETS)


def test_phones_in_formats_the_french_pattern_misses_are_found_by_phonenumbers():
    for text in ("appelez le (+33) 6 12 34 56 78 svp", "tél 0033612345678", "mon 06-12-34-56-78"):
        found = [s for s in PiiPatterns.load("emails").find(text) if s.kind == "PHONE"]
        assert found, text
