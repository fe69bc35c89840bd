"""The anonymisation engine: domain files as data, one behaviour for every domain (the domains' own patterns are
tested in tests/emails/test_anonymise.py and tests/assistant/test_preprocess.py)."""
from __future__ import annotations

import pytest

from lib.text.anonymise import Anonymiser, PiiPatterns

TOY = {"placeholders": {"ID": "<ID>", "CODE": "[CODE]"}, "priority": ["ID", "CODE"],
       "fragments": {"D": r"\d", "DD": "{{D}}{{D}}"},
       "rules": [{"kind": "ID", "regex": r"\b{{DD}}+\b", "not_if": "00+"},
                 {"kind": "CODE", "regex": r"\b[A-Z]{2}{{DD}}\b"}]}


def test_rules_then_overlaps_then_one_placeholder_per_run_of_a_kind():
    anon = Anonymiser(PiiPatterns.from_dict(TOY, "toy"))
    assert anon("ids 12 3456 then 78, code AB12, zeros 0000") == "ids <ID> then <ID>, code [CODE], zeros 0000"
    assert dict(anon.counts) == {"ID": 3, "CODE": 1}  # spans masked, before neighbours merge
    assert anon(None) == ""


@pytest.mark.parametrize("change,message", [
    ({"colour": "red"}, "unknown keys"),
    ({"priority": ["ID"]}, "same kinds"),
    ({"rules": [{"kind": "NAME", "regex": "x"}]}, "not in priority"),
    ({"rules": [{"kind": "ID", "regex": "{{NOPE}}"}]}, "unknown fragment"),
    ({"rules": [{"kind": "ID", "regex": "x", "check": "luhn"}]}, "unknown check"),
    ({"rules": [{"kind": "ID", "regex": "x", "phonenumbers": "FR"}]}, "exactly one of"),
    ({"rules": [{"kind": "ID", "regex": "(x"}]}, "bad regex"),
])
def test_domain_files_are_checked(change, message):
    with pytest.raises(ValueError, match=message):
        PiiPatterns.from_dict({**TOY, **change}, "toy")


def test_domains_are_found_by_name_with_their_defaults():
    assert Anonymiser("emails").detector == "spacy-md+gazetteer" and Anonymiser("assistant").detector == "spacy-md+gazetteer"
    assert not Anonymiser("assistant", use_ner=False).use_ner
    assert Anonymiser("emails").kinds[0] == "EMAIL"
    assert Anonymiser("assistant").kinds == ("phone", "transaction_id", "name")
    with pytest.raises(ValueError, match="known domains"):
        PiiPatterns.load("fruits")


def test_both_domains_use_phonenumbers_beside_their_own_pattern():
    # A French mobile in an Ivorian chat: not the assistant's pattern, a valid number for libphonenumber.
    assert Anonymiser("assistant")("mon cousin au +33 6 12 34 56 78 svp") == "mon cousin au [TELEPHONE] svp"
    assert Anonymiser("emails", use_ner=False)("tél 0033612345678") == "tél <PHONE>"


def test_same_kind_neighbours_merge_in_every_domain():
    assert Anonymiser("assistant")("c'est Aya Koné Traoré") == "c'est [NOM]"
    emails = Anonymiser("emails", use_ner=False)
    assert emails("joindre 06 12 34 56 78 07 11 22 33 44 svp") == "joindre <PHONE> svp"
