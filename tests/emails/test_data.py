"""Loaders (CSV, .eml, mbox), the demo inbox and the triage splits."""
from __future__ import annotations

import pandas as pd
import pytest

from lib.core.datasets import DatasetNotFoundError
from lib.text.anonymise import iban_is_valid
from lib.emails.data import (CATEGORIES, PII_TYPES, generate_demo_inbox, load_csv, load_eml_folder, load_mbox,
                             load_triage_dataset, write_demo_files, write_eml_folder, write_mbox)
from lib.emails.preprocess import Preprocessor


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return generate_demo_inbox(n=1200, seed=7)


def test_demo_inbox_is_deterministic_and_complete(demo):
    again = generate_demo_inbox(n=50, seed=7)
    pd.testing.assert_frame_equal(demo.head(50).reset_index(drop=True), again)
    assert not generate_demo_inbox(n=50, seed=8)["text"].equals(again["text"])
    assert len(demo) == 1200 and set(demo["category"]) == set(CATEGORIES)
    counts = demo["urgency"].value_counts()
    assert set(counts.index) == {"faible", "moyenne", "haute"}
    assert counts["haute"] < counts["moyenne"] < counts["faible"]  # realistic imbalance
    langs = demo["lang"].value_counts(normalize=True)
    assert 0.5 < langs["fr"] < 0.8 and langs["en"] > 0.2
    assert demo["is_html"].mean() > 0.05 and demo["text"].str.contains("a écrit :|wrote:").mean() > 0.1


def test_demo_pii_spans_point_at_the_values(demo):
    kinds = set()
    for text, spans in zip(demo["text"], demo["pii"]):
        for s, e, kind in spans:
            assert 0 <= s < e <= len(text) and text[s:e].strip() == text[s:e]
            kinds.add(kind)
            if kind == "IBAN":
                assert iban_is_valid(text[s:e])
            if kind == "EMAIL":
                assert "@" in text[s:e]
    assert kinds == set(PII_TYPES)


def test_load_csv_counts_every_bad_row(tmp_path):
    path = tmp_path / "mails.csv"
    path.write_text('text,category,urgency\n"Bonjour, ma note",Scolarité,haute\n'
                    'only two,fields,x,y\n'  # too many fields
                    ',RH,faible\n'  # empty text
                    '"Sans label",,faible\n'
                    '"Multi\nligne",RH,\n', encoding="utf-8")
    df, report = load_csv(path)
    assert report.n_read == 5 and report.n_kept == 2 and report.n_dropped == 3
    reasons = " ".join(p["reason"] for p in report.problems)
    assert "wrong field count" in reasons and "empty text" in reasons and "missing label" in reasons
    assert df["text"].tolist() == ["Bonjour, ma note", "Multi\nligne"]
    assert df["urgency"].isna().tolist() == [False, True]


def test_load_csv_errors_and_encoding(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("body,label\nhello,a\n")
    with pytest.raises(ValueError, match="text column 'text' not found"):
        load_csv(path)
    with pytest.raises(ValueError, match="label column"):
        load_csv(path, text_col="body", label_col="cat")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,category\nr\xe9sultat d'admission,Candidature\n".encode("cp1252"))
    df, report = load_csv(latin)
    assert df.loc[0, "text"] == "résultat d'admission" and "cp1252" in report.notes[0]


def test_eml_folder_and_mbox_round_trip_and_bad_messages(tmp_path, demo):
    sample = demo.head(12)
    files = write_demo_files(sample, tmp_path / "demo", n_messages=12)
    df, report = load_eml_folder(files["eml"])
    assert report.n_read == 15 and report.n_kept == 13 and report.n_dropped == 2
    assert len(report.warnings) == 1 and "charset" in report.warnings[0]["reason"]
    known = df[df["file"].str.startswith(tuple(c.replace("/", "_") for c in CATEGORIES))]
    assert set(known["category"]) <= set(CATEGORIES)
    mb, mreport = load_mbox(files["mbox"])
    assert mreport.n_read == 12 and mreport.n_kept == 12
    assert mb["category"].tolist() == sample["category"].tolist()
    assert mb["urgency"].tolist() == sample["urgency"].tolist()
    assert mb["subject"].tolist() == sample["subject"].tolist()
    csv_df, creport = load_csv(files["csv"])
    assert creport.n_kept == 12 and creport.n_dropped == 3


def test_eml_label_from_subfolder_when_no_header(tmp_path):
    folder = tmp_path / "eml" / "Partenariat"
    folder.mkdir(parents=True)
    (folder / "a.eml").write_bytes(b"From: a@x.org\r\nSubject: hi\r\n\r\nNous proposons un partenariat.\r\n")
    df, report = load_eml_folder(tmp_path / "eml")
    assert df.loc[0, "category"] == "Partenariat" and report.n_kept == 1


def test_missing_loader_inputs_raise(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_mbox(tmp_path / "none.mbox")
    with pytest.raises(FileNotFoundError):
        load_eml_folder(tmp_path / "none")
    with pytest.raises(DatasetNotFoundError):
        load_triage_dataset(str(tmp_path), "intents_fr", seed=0)


def test_triage_dataset_from_any_labelled_csv_folder(tmp_path):
    folder = tmp_path / "data" / "tickets"
    folder.mkdir(parents=True)
    rows = [{"message": f"question {i} sur {'la paie' if i % 2 else 'le stage'} de Marie Dupont", "topic": "b" if i % 2 else "a"}
            for i in range(40)]
    pd.DataFrame(rows).to_csv(folder / "all.csv", index=False)
    data = load_triage_dataset(str(tmp_path / "data"), "tickets", seed=0, test_size=0.25,
                               preprocessor=Preprocessor(use_ner=False), text_col="message", label_col="topic")
    assert data.source == "real" and data.labels == ["a", "b"] and not data.has_urgency
    assert len(data.train) == 30 and len(data.test) == 10
    assert {"text", "label", "urgency", "lang"} <= set(data.train.columns)


def test_triage_dataset_demo_split_is_stratified_and_capped(isolated_outputs):
    data = load_triage_dataset("", "ignored", seed=3, n_demo=300, max_rows=120,
                               preprocessor=Preprocessor(use_ner=False))
    assert data.source == "demo" and data.has_urgency and data.labels == sorted(CATEGORIES)
    assert len(data.train) == 120 and len(data.test) == 60
    assert not data.train["text"].str.contains(r"@\w+\.\w+").any()  # e-mail addresses are masked
    cached = load_triage_dataset("", "ignored", seed=3, n_demo=300, max_rows=120, preprocessor=Preprocessor(use_ner=False))
    pd.testing.assert_frame_equal(cached.train, data.train)


def _write(folder, name, rows):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / name, index=False)


def test_single_csv_split_keeps_single_example_classes_in_train(tmp_path):
    rows = [{"text": f"demande numéro {i} au sujet de {'la paie' if i % 2 else 'du stage'}", "label": "ab"[i % 2]}
            for i in range(40)]
    rows += [{"text": "une question unique sur le parking", "label": "parking"},
             {"text": "une question unique sur la cantine", "label": "cantine"},
             {"text": "une question unique sur le badge", "label": "badge"}]
    _write(tmp_path / "d" / "mine", "all.csv", rows)
    for seed in range(5):  # whatever the split, a single example is never the test set's
        data = load_triage_dataset(str(tmp_path / "d"), "mine", seed=seed, test_size=0.25,
                                   preprocessor=Preprocessor(use_ner=False), text_col="text", label_col="label")
        assert {"parking", "cantine", "badge"} <= set(data.train["label"])
        assert not {"parking", "cantine", "badge"} & set(data.test["label"])
        assert any("single example kept in train" in n for n in data.load_report.notes)


def test_max_train_rows_keeps_every_class_and_says_so(tmp_path):
    rows = [{"text": f"message {i} du groupe {'abc'[i % 3]}", "label": "abc"[i % 3]} for i in range(90)]
    rows.append({"text": "le seul message du groupe rare", "label": "rare"})
    _write(tmp_path / "d" / "mine", "train.csv", rows)
    _write(tmp_path / "d" / "mine", "test.csv", rows[:12])
    data = load_triage_dataset(str(tmp_path / "d"), "mine", seed=0, max_rows=20,
                               preprocessor=Preprocessor(use_ner=False), train_file="train.csv", test_file="test.csv",
                               label_col="label")
    assert len(data.train) == 20 and set(data.train["label"]) == {"a", "b", "c", "rare"}
    assert any("capped at 20 of 91" in n for n in data.load_report.notes)
    with pytest.raises(ValueError, match="without dropping a class"):
        load_triage_dataset(str(tmp_path / "d"), "mine", seed=0, max_rows=3, preprocessor=Preprocessor(use_ner=False),
                            train_file="train.csv", test_file="test.csv", label_col="label")


def test_own_layout_parameters_name_files_and_columns(tmp_path):
    rows = [{"body": f"bonjour, question {i} sur {'la bourse' if i % 2 else 'le logement'}", "cat": "xy"[i % 2],
             "prio": "haute" if i % 5 == 0 else "faible"} for i in range(30)]
    _write(tmp_path / "d" / "mine", "tr.csv", rows[:20])
    _write(tmp_path / "d" / "mine", "te.csv", rows[20:])
    data = load_triage_dataset(str(tmp_path / "d"), "mine", seed=0, preprocessor=Preprocessor(use_ner=False),
                               train_file="tr.csv", test_file="te.csv", text_col="body", label_col="cat",
                               urgency_col="prio")
    assert (len(data.train), len(data.test)) == (20, 10) and data.has_urgency and data.labels == ["x", "y"]
    # empty values mean "not set", a lone TRAIN_FILE is split here, a typo in a key is an error
    one = load_triage_dataset(str(tmp_path / "d"), "mine", seed=0, test_size=0.3, preprocessor=Preprocessor(use_ner=False),
                              train_file="tr.csv", test_file="", text_col="body", label_col="cat", urgency_col="")
    assert len(one.train) + len(one.test) == 20
    with pytest.raises(ValueError, match="unknown layout keys"):
        load_triage_dataset(str(tmp_path / "d"), "mine", seed=0, preprocessor=Preprocessor(use_ner=False), txt_col="x")
