"""The leak scan finds raw values in reports and in saved vocabularies, and nothing where there is nothing."""
from __future__ import annotations

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from lib.text.leaks import scan_for_pii, vocabularies


def test_values_in_reports_and_vocabularies_are_found(tmp_path):
    (tmp_path / "report.html").write_text("<p>écrit par Marie Dupont</p><p>Martine</p>", encoding="utf-8")
    (tmp_path / "clean.html").write_text("<p>écrit par &lt;PERSON&gt;</p>", encoding="utf-8")
    model = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())])
    model.fit(["dupont attend son relevé", "rien à signaler"], [0, 1])
    joblib.dump({"category_model": model}, tmp_path / "model.joblib")
    hits = scan_for_pii([tmp_path], {"PERSON": {"Marie Dupont", "Martin"}, "PHONE": {"0612345678"}})
    by_file = {p.split("/")[-1]: n for p, n in zip(hits["file"], hits["found"])}
    assert by_file == {"report.html": 1, "model.joblib": 1}  # "Martin" is not in "Martine"
    assert "Dupont" not in "".join(map(str, hits["examples"]))  # the scan does not print what it found


def test_nothing_found_is_an_empty_table(tmp_path):
    (tmp_path / "a.json").write_text('{"text": "<PERSON> a écrit"}')
    hits = scan_for_pii([tmp_path, tmp_path / "missing"], {"PERSON": {"Marie Dupont"}})
    assert hits.empty and list(hits.columns) == ["file", "kind", "found", "examples"]


def test_vocabularies_walk_nested_models():
    vec = TfidfVectorizer().fit(["alpha beta"])
    assert vocabularies({"a": [Pipeline([("v", vec)])]}) == {"alpha", "beta"}
