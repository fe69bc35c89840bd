"""The urgency rule layer and how it combines with the model."""
import pytest

from lib.emails.urgency import apply_rules, combine, compare_urgency


@pytest.mark.parametrize("text", ["URGENT : ma convention", "I need an answer today.", "Merci de répondre avant demain",
                                  "Could you handle this asap?", "c'est urgent", "Il me faut ce document dès que possible",
                                  "J'ai besoin d'une réponse aujourd'hui"])
def test_explicit_markers_give_haute(text):
    r = apply_rules(text)
    assert r.level == "haute" and r.hits and r.reasons()[0].startswith("urgency marker")


@pytest.mark.parametrize("text", ["Ce n'est pas urgent.", "Rien d'urgent, simple question.", "This is not urgent.",
                                  "No rush, thanks.", "Sans urgence, merci."])
def test_negated_markers_are_not_urgent(text):
    assert apply_rules(text).level == "faible"


def test_medium_and_none():
    assert apply_rules("La date limite est le 15 mars").level == "moyenne"
    assert apply_rules("Une réponse cette semaine serait appréciée").level == "moyenne"
    assert apply_rules("Bonjour, une question sur ma note.").level is None


def test_combine_rules_override_only_for_haute():
    assert combine("faible", apply_rules("URGENT")) == ("haute", "rule")
    assert combine("moyenne", apply_rules("pas urgent")) == ("moyenne", "model")
    assert combine(None, apply_rules("pas urgent")) == ("faible", "rule")
    assert combine(None, apply_rules("bonjour")) == (None, "none")


def test_precision_table():
    t = compare_urgency(["haute", "faible", "haute", "moyenne"], {"r": ["haute", "haute", None, None]}).iloc[0]
    assert t.precision == 0.5 and t.recall == 0.5 and t.support == 2


def test_only_trusted_rules_override_the_model():
    texts = ["URGENT svp", "URGENT merci", "c'est urgent", "urgent !", "très urgent",
             "reçu aujourd'hui", "passé aujourd'hui", "vu aujourd'hui", "aujourd'hui", "today I went", "need it today"]
    truth = ["haute"] * 5 + ["faible"] * 4 + ["faible", "haute"]
    from lib.emails.urgency import rule_precision, trusted_rules

    table = rule_precision(texts, truth).set_index("rule")
    assert table.loc["urgent", "precision"] == 1.0 and table.loc["today", "precision"] == pytest.approx(1 / 6)
    trusted = trusted_rules(texts, truth, min_precision=0.9, min_fired=3)
    assert trusted == ["urgent"]
    assert combine("faible", apply_rules("reçu aujourd'hui"), trusted) == ("faible", "model")
    assert combine("faible", apply_rules("URGENT"), trusted) == ("haute", "rule")
    assert combine(None, apply_rules("reçu aujourd'hui"), trusted) == (None, "none")
