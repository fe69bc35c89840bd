"""The first-name gazetteer in context (`lib.text.name_gazetteer`), on gender-guesser's name list."""
from __future__ import annotations

import importlib.util
import time

import pytest

if importlib.util.find_spec("gender_guesser") is None:
    pytest.skip("gender_guesser not installed: the gazetteer's name list needs pip install gender-guesser==0.4.0",
                allow_module_level=True)

from lib.text.name_gazetteer import NOT_FIRST_NAMES, gazetteer_spans, load_first_names  # noqa: E402


@pytest.fixture(scope="module")
def names() -> frozenset[str]:
    return load_first_names()


def found(text: str, names: frozenset[str], **kw) -> list[str]:
    return [text[s:e] for s, e in gazetteer_spans(text, names, **kw)]


def test_the_list_is_read_with_its_accents_and_filters(names):
    assert len(names) > 30_000
    assert {"Juliette", "Camille", "Hélène", "Jean-Claude", "Anne-Marie", "Björn"} <= names
    assert "Le" not in names and "Il" not in names  # shorter than 3 letters
    assert not NOT_FIRST_NAMES & names and "Paris" in load_first_names(exclude=frozenset())
    assert len(load_first_names(min_frequency=8)) < len(names)


def test_mid_sentence_first_name_and_first_name_with_surname(names):
    assert found("J'ai vu Juliette hier", names) == ["Juliette"]
    assert found("Rendez-vous avec Camille Dubreuil demain.", names) == ["Camille Dubreuil"]
    assert found("En cet instant Olivier le Daim rentra.", names) == ["Olivier le Daim"]
    assert found("Le mousquetaire Charles d'Artagnan et Seán O'Brien, puis l'avis d'Hélène.", names) == [
        "Charles d'Artagnan", "Seán O'Brien", "Hélène"]
    assert found("le roi Louis XI arrive", names) == ["Louis XI"]
    assert found("Je parle à Olivier le matin.", names) == ["Olivier"]  # a trailing particle is not taken


def test_sentence_start_needs_a_capitalised_word_after_it(names):
    assert "Pierre" in names and "Rose" in names
    assert found("Pierre tombe du toit. Rose est une couleur.\nOlive oil", names) == []
    assert found("Pierre Gringoire arrive. - Claude Frollo sortit.", names) == ["Pierre Gringoire", "Claude Frollo"]
    assert found("Il a vu M. Pierre hier.", names) == ["Pierre"]  # "M." is not a sentence end


def test_not_names_and_acronyms_are_not_names(names):
    assert found("Bonjour Camille, merci", names, not_names=frozenset({"camille"})) == []
    assert found("Envoyé à Camille Merci demain", names, not_names=frozenset({"merci"})) == ["Camille"]
    assert found("Inscription au MASTER et à l'ENT avec ANNE aujourd'hui", names) == []
    assert "Lea" in names and found("Réunion avec Camille DRH puis LEA Moodle.", names) == ["Camille"]
    assert found("le dossier ERASMUS est prêt", names) == []  # capitals alone carry no context
    assert found("Signé : CAMILLE DUBOIS, scolarité", names) == ["CAMILLE DUBOIS"]
    assert found("la cathédrale Notre-Dame et Paris", names) == []


def test_hyphenated_first_names(names):
    assert found("Bonjour Marie-Claire, et merci à Jean-Baptiste Poquelin.", names) == [
        "Marie-Claire", "Jean-Baptiste Poquelin"]
    assert found("rue Saint-Jean, près de l'Hôtel-Dieu", names) == []  # a name at the end is a place


def test_spans_are_sorted_and_disjoint_and_a_long_email_is_fast(names):
    block = ("Bonjour Marie-Claire,\n\nJ'ai vu Juliette hier avec Camille Dubreuil à l'UFR. Le dossier ERASMUS "
             "est prêt ; pouvez-vous transmettre à M. Jean Dupont ?\n\nCordialement,\nPierre Martin\n")
    text = (block * (5000 // len(block) + 1))[:5000]
    spans = gazetteer_spans(text, names)
    assert spans == sorted(spans) and all(e <= s2 for (_, e), (s2, _) in zip(spans, spans[1:]))
    assert {text[s:e] for s, e in spans} >= {"Marie-Claire", "Juliette", "Camille Dubreuil", "Pierre Martin"}
    best = min(_timed(text, names) for _ in range(5))
    assert best < 0.005, f"{best * 1000:.2f} ms for 5,000 characters"


def _timed(text: str, names: frozenset[str]) -> float:
    t = time.perf_counter()
    gazetteer_spans(text, names)
    return time.perf_counter() - t
