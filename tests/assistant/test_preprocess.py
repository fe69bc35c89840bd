"""Cleaning, anonymisation (the assistant domain's PII patterns) and the whole-token abbreviation normaliser."""
import json

import pytest

from lib.assistant.preprocess import ID_TAG, NAME_TAG, PHONE_TAG, Normaliser, Preprocessor, clean_text
from lib.text.anonymise import Anonymiser


@pytest.fixture(scope="module")
def norm():
    return Normaliser.from_file()


def test_normaliser_replaces_whole_tokens_only(norm):
    assert norm("les frè pr 100000") == "les frais pour 100000"
    # "pr" inside words must stay: prix, pro, après, prpr is not a token "pr"
    assert norm("le prix pro après") == "le prix pro après"
    assert norm("Pr moi") == "Pour moi"                 # capitalisation kept
    assert norm("c'est ok, c koi") == "c'est ok, c'est quoi"  # "c" inside "c'est" untouched
    assert norm("pr.") == "pour."


def test_operator_names_are_not_abbreviations(norm):
    assert norm("de orange ver mtn") == "de orange vers mtn"


def test_normaliser_mapping_is_data(tmp_path):
    path = tmp_path / "abbr.json"
    path.write_text(json.dumps({"tkt": "t'inquiète"}))
    n = Normaliser.from_file(path)
    assert n("tkt pr") == "t'inquiète pr"
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="map strings"):
        Normaliser.from_file(bad)


@pytest.mark.parametrize("text,tag", [
    ("mon numéro 07 12 34 56 78", PHONE_TAG), ("appelle le +225 0102030405", PHONE_TAG),
    ("c'est le 0554433221", PHONE_TAG), ("id ET24A7K9Q2 svp", ID_TAG), ("transaction CI231104.1532.B81234", ID_TAG),
    ("ref: et24a7k9q2", ID_TAG), ("je m'appelle Aya Koné", NAME_TAG), ("de la part de Kouassi", NAME_TAG),
])
def test_anonymiser_removes_personal_data(text, tag):
    out = Anonymiser("assistant")(text)
    assert tag in out
    for secret in ("12 34 56", "0102030405", "0554433221", "ET24A7K9Q2", "B81234", "et24a7k9q2", "Aya", "Koné", "Kouassi"):
        assert secret not in out


@pytest.mark.parametrize("text", ["les frais pr 1 500 000 FCFA", "envoyé 100000f", "1.500.000 de mtn", "25mil svp",
                                  "le 24h/24"])
def test_anonymiser_keeps_amounts(text):
    assert Anonymiser("assistant")(text) == text


def test_clean_text():
    assert clean_text("  stppppp   aidez\u200b moi 🙏 ") == "stpp aidez moi 🙏"


def test_preprocessor_normalises_user_turns_only():
    pre = Preprocessor()
    conv = {"messages": [{"role": "user", "content": "slt pr 5000 07 11 22 33 44"},
                         {"role": "assistant", "content": "Le pr Yao répond."}]}
    out = pre.conversation(conv)
    assert out["messages"][0]["content"] == f"salut pour 5000 {PHONE_TAG}"
    assert out["messages"][1]["content"] == f"Le pr {NAME_TAG} répond."
    assert pre.report()["anonymised"] == {"phone": 1, "name": 1}
