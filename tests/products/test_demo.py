"""The synthetic demo catalogue: challenge format, determinism, a class subset, words printed on the photos."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from PIL import Image

from lib.products.data import RAKUTEN_IMAGES, load_rakuten, quality_report
from lib.products.demo import DEMO_CLASSES, PRINTED_FILE, generate_demo_catalogue


def test_demo_catalogue_is_deterministic_and_in_challenge_format(tmp_path):
    a = generate_demo_catalogue(tmp_path / "a", n=60, seed=3)
    b = generate_demo_catalogue(tmp_path / "b", n=60, seed=3)
    for name in ("X_train_update.csv", "Y_train_CVw08PX.csv", PRINTED_FILE):
        assert (a / name).read_text() == (b / name).read_text()
    images = sorted(p.name for p in (a / RAKUTEN_IMAGES).iterdir())
    assert images and all((a / RAKUTEN_IMAGES / n).read_bytes() == (b / RAKUTEN_IMAGES / n).read_bytes()
                          for n in images)
    df, problems = load_rakuten(a)
    assert not problems and len(df) == 60 and df["label"].nunique() == 10
    rep = quality_report(df)
    assert rep["unreadable_images"] == 3
    assert 0.15 < rep["missing_descriptions"] / 60 < 0.6
    assert rep["images_ok"] + rep["missing_images"] + rep["unreadable_images"] == 60
    c = generate_demo_catalogue(tmp_path / "c", n=60, seed=4)
    assert (a / "X_train_update.csv").read_text() != (c / "X_train_update.csv").read_text()


def test_printed_words_share_vocabulary_and_independence(tmp_path):
    a = generate_demo_catalogue(tmp_path / "a", n=200, seed=5)
    printed = pd.read_csv(a / PRINTED_FILE)
    df, _ = load_rakuten(a)
    assert 0.25 < len(printed) / quality_report(df)["images_ok"] < 0.45  # ~35 % of the readable photos
    x = pd.read_csv(a / "X_train_update.csv", index_col=0)
    y = pd.read_csv(a / "Y_train_CVw08PX.csv", index_col=0)
    code = dict(zip(x["productid"], y["prdtypecode"].astype(str)))
    assert all(w in DEMO_CLASSES[code[p]]["printed"] for p, w in zip(printed["productid"], printed["printed"]))
    assert any(any(ch in w for ch in "éèêÉë") for w in printed["printed"])  # accents, for a French OCR model
    for r in printed.head(5).itertuples():  # a printed photo is a readable JPEG of the usual size
        with Image.open(a / RAKUTEN_IMAGES / f"image_{r.imageid}_product_{r.productid}.jpg") as im:
            assert im.size == (128, 128)
    # printing draws from its own stream: the texts and the unprinted photos do not depend on it
    b = generate_demo_catalogue(tmp_path / "b", n=200, seed=5, printed_rate=0.0)
    assert (a / "X_train_update.csv").read_text() == (b / "X_train_update.csv").read_text()
    assert pd.read_csv(b / PRINTED_FILE).empty
    name = next(p.name for p in (a / RAKUTEN_IMAGES).iterdir()
                if p.name.split("_")[1] not in set(map(str, printed["imageid"])))
    assert (a / RAKUTEN_IMAGES / name).read_bytes() == (b / RAKUTEN_IMAGES / name).read_bytes()


def test_class_subset_and_bad_arguments(tmp_path):
    f = generate_demo_catalogue(tmp_path / "two", n=80, seed=1, classes=["2583", "10"])
    df, _ = load_rakuten(f)
    assert sorted(df["label"].unique()) == ["10", "2583"] and (df["label"].value_counts() >= 8).all()
    with pytest.raises(ValueError, match="at least two distinct codes"):
        generate_demo_catalogue(tmp_path / "one", n=20, classes=["10"])
    with pytest.raises(ValueError, match="at least two distinct codes"):
        generate_demo_catalogue(tmp_path / "bad", n=20, classes=["10", "9999"])
    with pytest.raises(ValueError, match="printed_rate"):
        generate_demo_catalogue(tmp_path / "rate", n=20, printed_rate=1.5)


@pytest.mark.slow
def test_tesseract_reads_most_printed_words(tmp_path):
    pytesseract = pytest.importorskip("pytesseract")
    if shutil.which("tesseract") is None or "fra" not in pytesseract.get_languages():
        pytest.skip("tesseract with French data (apt: tesseract-ocr tesseract-ocr-fra) is not installed")
    f = generate_demo_catalogue(tmp_path / "ocr", n=120, seed=42)
    printed = pd.read_csv(f / PRINTED_FILE).head(24)
    read_sparse = read_default = 0
    for r in printed.itertuples():
        with Image.open(f / RAKUTEN_IMAGES / f"image_{r.imageid}_product_{r.productid}.jpg") as im:
            big = im.convert("RGB").resize((512, 512))
        word = r.printed.lower()
        read_default += word in pytesseract.image_to_string(big, lang="fra").lower()
        read_sparse += word in pytesseract.image_to_string(big.convert("L"), lang="fra", config="--psm 11").lower()
    # measured on 100 printed photos: ~80 % read exactly (accents included) as sparse text on grey, ~50 % with
    # tesseract's default page layout analysis, which takes a label on a textured package for part of a picture
    assert read_sparse / len(printed) >= 0.6
    assert read_default / len(printed) >= 0.3
