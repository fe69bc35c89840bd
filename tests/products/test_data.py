"""Loaders (missing descriptions/images counted), demo generator, stratified deterministic splits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lib.core.datasets import DatasetNotFoundError
from lib.products.data import (COLUMNS, RAKUTEN_IMAGES, check_image, first_category, generate_demo_catalogue,
                               load_catalogue, load_products, load_rakuten, quality_report, split_products)
from lib.products.text import clean_text, join_fields


def test_clean_text_strips_html_entities_and_placeholders():
    assert clean_text("<p>Housse&nbsp;de <b>coussin</b></p><br />  45x45 ") == "Housse de coussin 45x45"
    assert clean_text("caf&eacute;") == "café"
    assert clean_text(float("nan")) == "" and clean_text(None) == "" and clean_text(" nc ") == ""
    assert join_fields("Titre", None) == "Titre" and join_fields("", "<i>desc</i>") == "desc"


def _rakuten_folder(tmp_path):
    """Three listings: one with an image, one with a corrupt image, one without image; one lacks a description."""
    x = pd.DataFrame({"designation": ["Livre ancien", "Manette PS4", "Piscine"],
                      "description": ["<p>Un roman</p>", np.nan, "Pompe &amp; filtre"],
                      "productid": [11, 22, 33], "imageid": [1, 2, 3]})
    y = pd.DataFrame({"prdtypecode": [10, 50, 2583]})
    x.to_csv(tmp_path / "X_train_update.csv")
    y.to_csv(tmp_path / "Y_train_CVw08PX.csv")
    img_dir = tmp_path / RAKUTEN_IMAGES
    img_dir.mkdir(parents=True)
    Image.new("RGB", (32, 32), "red").save(img_dir / "image_1_product_11.jpg")
    Image.new("RGB", (32, 32), "blue").save(img_dir / "image_2_product_22.jpg")
    (img_dir / "image_2_product_22.jpg").write_bytes((img_dir / "image_2_product_22.jpg").read_bytes()[:60])
    return tmp_path


def test_load_rakuten_counts_missing_and_unreadable(tmp_path):
    df = load_rakuten(_rakuten_folder(tmp_path))
    assert list(df.columns) == COLUMNS
    assert df["label"].tolist() == ["10", "50", "2583"]
    assert df["image_status"].tolist() == ["ok", "unreadable", "missing"]
    assert df["image_path"].notna().tolist() == [True, False, False]
    assert df.loc[2, "text"] == "Piscine Pompe & filtre"
    rep = quality_report(df)
    assert rep == {"rows": 3, "classes": 3, "missing_descriptions": 1, "empty_texts": 0, "missing_images": 1,
                   "unreadable_images": 1, "images_ok": 1}


def test_load_rakuten_rejects_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="X_train_update.csv"):
        load_rakuten(tmp_path)


def test_check_image(tmp_path):
    assert check_image(None) == "missing" and check_image(tmp_path / "nope.jpg") == "missing"
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert check_image(tmp_path / "bad.jpg") == "unreadable"


def test_generic_catalogue_and_label_fn(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    pd.DataFrame({"name": ["A", "B"], "desc": ["x", None], "img": ["a.jpg", "b.jpg"],
                  "tree": ['["Watches >> Wrist"]', '["Baby Care >> Toys"]']}).to_csv(tmp_path / "c.csv", index=False)
    df = load_catalogue(tmp_path / "c.csv", ["name", "desc"], "img", "tree", tmp_path, label_fn=first_category)
    assert df["label"].tolist() == ["Watches", "Baby Care"]
    assert df["image_status"].tolist() == ["ok", "missing"]
    with pytest.raises(ValueError, match="lacks columns"):
        load_catalogue(tmp_path / "c.csv", ["title"], "img", "tree")


def test_demo_catalogue_is_deterministic_and_in_challenge_format(tmp_path):
    a = generate_demo_catalogue(tmp_path / "a", n=60, seed=3)
    b = generate_demo_catalogue(tmp_path / "b", n=60, seed=3)
    assert (a / "X_train_update.csv").read_text() == (b / "X_train_update.csv").read_text()
    df = load_rakuten(a)
    assert len(df) == 60 and df["label"].nunique() == 10
    rep = quality_report(df)
    assert rep["unreadable_images"] == 3
    assert 0.15 < rep["missing_descriptions"] / 60 < 0.6
    assert rep["images_ok"] + rep["missing_images"] + rep["unreadable_images"] == 60
    c = generate_demo_catalogue(tmp_path / "c", n=60, seed=4)
    assert (a / "X_train_update.csv").read_text() != (c / "X_train_update.csv").read_text()


def test_load_products_demo_and_clear_error(isolated_outputs):
    data = load_products("", "flipkart", seed=1, max_rows=200, demo_rows=300)
    assert data.source == "demo" and "SYNTHETIC" in data.title and data.name == "demo"
    assert data.report["rows"] == len(data.df) <= 210 and data.report["rows_before_subsample"] == 300
    assert data.labels == sorted(data.labels) and len(data.labels) == 10
    with pytest.raises(DatasetNotFoundError):
        load_products(str(isolated_outputs / "nowhere"), "flipkart", seed=1)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_products("", "imagenet", seed=1)


def test_split_is_stratified_disjoint_and_deterministic():
    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c", "d"], [200, 100, 40, 2])
    df = pd.DataFrame({"id": [f"r{i}" for i in range(len(labels))], "label": rng.permutation(labels)})
    s1 = split_products(df, seed=7)
    s2 = split_products(df.sample(frac=1, random_state=1), seed=7)  # order of the rows must not matter
    for k in ("train", "val", "test"):
        assert set(s1[k]["id"]) == set(s2[k]["id"])
    ids = [set(s1[k]["id"]) for k in ("train", "val", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sum(map(len, ids)) == len(df)
    for label, n in {"a": 200, "b": 100, "c": 40}.items():
        assert abs((s1["test"]["label"] == label).sum() - 0.15 * n) <= 1
        assert abs((s1["val"]["label"] == label).sum() - 0.15 * n) <= 1
    assert (s1["train"]["label"] == "d").sum() >= 1
    assert set(split_products(df, seed=8)["test"]["id"]) != set(s1["test"]["id"])


@pytest.mark.realdata
def test_real_rakuten_sample_and_flipkart(real_data):
    r = load_products(str(real_data), "rakuten_sample", seed=42)
    assert r.report["rows"] == 499 and r.report["classes"] == 27 and r.source == "real"
    assert 0.30 < r.report["missing_descriptions"] / 499 < 0.40
    assert r.report["missing_images"] == 499  # the sample ships no images: counted, not dropped
    f = load_products(str(real_data), "flipkart", seed=42)
    assert f.report["rows"] == 1050 and f.report["images_ok"] == 1047 and f.report["missing_images"] == 3
    assert len(f.labels) == 7 and "Watches" in f.labels
