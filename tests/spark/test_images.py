"""binaryFile loading: labels from folders, corrupt files counted and listed (not fatal), sampling."""
from __future__ import annotations

import pytest

from lib.spark.images import (as_uri, check_images, decode_error, label_from_path, list_classes, read_images,
                              sample_per_class, split_from_path)


def test_label_and_split_from_path():
    p = "file:/data/fruits-360/Training/Apple Red 1/r_12_100.jpg"
    assert label_from_path(p) == "Apple Red 1"
    assert split_from_path(p) == "Training"
    assert label_from_path("s3://bucket/fruits/Test/Kiwi/1.jpg") == "Kiwi"
    with pytest.raises(ValueError):
        label_from_path("x.jpg")


def test_as_uri_keeps_remote_and_makes_local_absolute(tmp_path):
    assert as_uri("s3://b/p") == "s3://b/p"
    assert as_uri(tmp_path).startswith("file:///")


def test_decode_error_on_truncated_and_garbage(tiny_fruits):
    bad = next(tiny_fruits.rglob("corrupt_*.jpg")).read_bytes()
    good = next(tiny_fruits.rglob("0000_100.jpg")).read_bytes()
    assert decode_error(good) is None
    assert "truncated" in decode_error(bad).lower()
    assert decode_error(b"not a jpeg") is not None and decode_error(b"") == "empty file"


@pytest.mark.slow
def test_read_check_and_sample(spark, tiny_fruits, tmp_path):
    raw = read_images(spark, tiny_fruits)
    rows = raw.select("path", "split", "label").collect()
    assert len(rows) == 3 * (4 + 2) + 1
    for r in rows:  # the Spark column and the Python rule agree on every file
        assert r["label"] == label_from_path(r["path"]) and r["split"] == split_from_path(r["path"])
    good, report = check_images(raw)
    assert report.n_corrupt == 1 and report.n_readable == 18 and report.n_files == 19
    assert "corrupt_00.jpg" in report.corrupt[0]["path"] and report.corrupt[0]["error"]
    assert report.per_split_class["Test"] == {c: 2 for c in list_classes(good)}
    assert good.count() == 18
    sampled = sample_per_class(good.where("split = 'Training'"), 2, seed=1)
    counts = {r["label"]: r["count"] for r in sampled.groupBy("label").count().collect()}
    assert counts == {c: 2 for c in list_classes(good)}
    again = sample_per_class(good.where("split = 'Training'"), 2, seed=1)
    assert sorted(r.path for r in sampled.select("path").collect()) == sorted(r.path for r in again.select("path").collect())
    one = sample_per_class(good, 0, seed=1, classes=[list_classes(good)[0]])
    assert one.count() == 6


@pytest.mark.slow
@pytest.mark.realdata
def test_real_fruits360_layout(spark, real_data):
    good, report = check_images(read_images(spark, real_data / "fruits360"))
    assert report.n_corrupt == 0
    assert len(report.per_split_class["Training"]) == 33
    assert sum(report.per_split_class["Training"].values()) == 3300
    assert sum(report.per_split_class["Test"].values()) == 990
