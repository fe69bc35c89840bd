"""Loaders (missing descriptions/images counted, bad CSV rows skipped and reported), stratified deterministic splits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lib.core.datasets import DatasetNotFoundError
from lib.products.data import (COLUMNS, RAKUTEN_IMAGES, RowProblem, check_image, first_category, load_catalogue,
                               load_flipkart, load_products, load_rakuten, quality_report, read_csv_records,
                               split_products)
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
    df, problems = load_rakuten(_rakuten_folder(tmp_path))
    assert problems == []
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
    df, problems = load_catalogue(tmp_path / "c.csv", ["name", "desc"], "img", "tree", tmp_path,
                                  label_fn=first_category)
    assert df["label"].tolist() == ["Watches", "Baby Care"] and df["id"].tolist() == ["0", "1"] and not problems
    assert df["image_status"].tolist() == ["ok", "missing"]
    with pytest.raises(ValueError, match="lacks columns"):
        load_catalogue(tmp_path / "c.csv", ["title"], "img", "tree")


def test_load_products_demo_and_clear_error(isolated_outputs):
    data = load_products("", "flipkart", seed=1, max_rows=200, demo_rows=300)
    assert data.source == "demo" and "SYNTHETIC" in data.title and data.name == "demo"
    assert data.report["rows"] == len(data.df) <= 210 and data.report["rows_before_subsample"] == 300
    assert data.labels == sorted(data.labels) and len(data.labels) == 10
    assert data.report["rows_skipped"] == 0 and "rows_skipped_first" not in data.report
    with pytest.raises(DatasetNotFoundError):
        load_products(str(isolated_outputs / "nowhere"), "flipkart", seed=1)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_products("", "imagenet", seed=1)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_records_skips_malformed_rows_with_line_numbers(tmp_path):
    csv = _write(tmp_path / "c.csv", 'a,b,c\n1,"x\ny",3\n\n4,5\n6,7,8,9\n10,11,12\n')
    df, problems = read_csv_records(csv)
    assert df["a"].tolist() == ["1", "10"] and df["b"].tolist() == ["x\ny", "11"]
    assert df["_line"].tolist() == [2, 7] and df["_record"].tolist() == [0, 3]  # a quoted field spans lines 2-3
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [(5, "wrong field count"), (6, "wrong field count")]
    (tmp_path / "bad.csv").write_bytes("a,b\n1,caf\xe9\n2,ok\n".encode("utf-8").replace(b"\xc3\xa9", b"\xe9"))
    df, problems = read_csv_records(tmp_path / "bad.csv")
    assert df["a"].tolist() == ["2"] and problems == [RowProblem("bad.csv", 2, "not valid UTF-8")]
    df, problems = read_csv_records(_write(tmp_path / "big.csv", "a,b\n1,x\n2," + "y" * 140_000 + "\n3,z\n"))
    assert df["a"].tolist() == ["1", "3"] and df["_record"].tolist() == [0, 2]
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [(3, "malformed CSV")]  # the csv module's limit
    with pytest.raises(ValueError, match="empty"):
        read_csv_records(_write(tmp_path / "empty.csv", ""))


def test_rakuten_bad_rows_are_skipped_and_reported(tmp_path):
    _write(tmp_path / "X_train_update.csv",
           ",designation,description,productid,imageid\n"
           "0,Livre ancien,Un roman,11,1\n"
           "1,Manette PS4,too,many,fields,here\n"      # line 3: malformed
           "2,Piscine,,33,3\n"                         # line 4: no label in Y
           "3,Drone,,abc,4\n"                          # line 5: productid not an integer
           "4,Tabouret,bois,55,5\n")
    _write(tmp_path / "Y_train_CVw08PX.csv", ",prdtypecode\n0,10\n1,50\n2,\n3,1300\n4,1560\n9,10\n")
    df, problems = load_rakuten(tmp_path)
    assert df["id"].tolist() == ["0", "4"] and df["label"].tolist() == ["10", "1560"]
    where = {(p.file, p.line): p.reason for p in problems}
    assert where[("X_train_update.csv", 3)].startswith("wrong field count: 6 fields, header has 5")
    assert where[("X_train_update.csv", 4)].startswith("missing label")
    assert where[("X_train_update.csv", 5)].startswith("productid/imageid not integers")
    assert where[("Y_train_CVw08PX.csv", 4)] == "missing label (listing 2)"
    assert where[("Y_train_CVw08PX.csv", 7)] == "listing 9 is not in X_train_update.csv"
    assert "listing 1 is not in" in where[("Y_train_CVw08PX.csv", 3)]  # its X row was malformed
    assert len(problems) == 6


def test_generic_catalogue_bad_rows_and_nothing_valid(tmp_path):
    _write(tmp_path / "c.csv", 'name,desc,tree\n"A",x,"[""Watches >> Wrist""]"\nB,y\nC,z,\nD,w,"[""Baby Care""]"\n')
    df, problems = load_catalogue(tmp_path / "c.csv", ["name", "desc"], None, "tree", label_fn=first_category)
    assert df["designation"].tolist() == ["A", "D"] and df["label"].tolist() == ["Watches", "Baby Care"]
    assert df["id"].tolist() == ["0", "3"]  # ids are record positions: stable whatever is skipped
    assert [str(p) for p in problems] == ["c.csv line 3: wrong field count: 2 fields, header has 3",
                                          "c.csv line 4: missing label (tree)"]
    def broken(_):
        raise KeyError("no category")
    with pytest.raises(ValueError, match=r"c.csv: no valid listing \(4 rows skipped, e.g. c.csv line 2: unparsable"):
        load_catalogue(tmp_path / "c.csv", ["name"], None, "tree", label_fn=broken)
    _write(tmp_path / "none.csv", "name,tree\nA,\nB,\n")
    with pytest.raises(ValueError, match="no valid listing"):
        load_catalogue(tmp_path / "none.csv", ["name"], None, "tree")


def test_flipkart_missing_label_and_products_report(tmp_path, isolated_outputs):
    folder = tmp_path / "shared" / "flipkart"
    (folder / "images").mkdir(parents=True)
    rows = ["uniq_id,product_name,description,image,product_category_tree"]
    rows += [f'u{i},Watch {i},steel,w{i}.jpg,"[""Watches >> Wrist""]"' for i in range(6)]
    rows += [f'b{i},Towel {i},cotton,b{i}.jpg,"[""Baby Care >> Bath""]"' for i in range(6)]
    rows += ["x1,No label,desc,x1.jpg,", "x2,Bad,row", ",No id,desc,x3.jpg,\"[\"\"Watches\"\"]\""]
    _write(folder / "products.csv", "\n".join(rows) + "\n")
    df, problems = load_flipkart(folder, check_images=False)
    assert len(df) == 12 and [p.line for p in problems] == [14, 15, 16]
    data = load_products(str(tmp_path / "shared"), "flipkart", seed=1)
    assert data.report["rows"] == 12 and data.report["rows_skipped"] == 3 and len(data.row_problems) == 3
    assert data.report["rows_skipped_first"] == ("products.csv line 14: missing label (product_category_tree); "
                                                 "products.csv line 15: wrong field count: 3 fields, header has 5; "
                                                 "products.csv line 16: missing id (uniq_id)")


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
