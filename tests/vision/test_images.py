"""Reading photos: missing and unreadable files are counted, never fatal."""
from __future__ import annotations

from lib.vision.images import ImageListDataset, audit_images, load_images, open_image


def test_open_image_statuses(image_files):
    assert open_image(image_files["ok"][0])[1] == "ok"
    assert open_image(image_files["unreadable"][0]) == (None, "unreadable")
    assert open_image(image_files["missing"][0]) == (None, "missing")
    assert open_image(None) == (None, "missing")


def test_audit_counts_each_case(image_files):
    paths = image_files["ok"] + image_files["unreadable"] + image_files["missing"]
    audit = audit_images(paths)
    assert audit.as_dict() == {"n_total": 9, "n_ok": 6, "n_missing": 2, "n_unreadable": 1}
    assert audit.ok_mask.tolist() == [True] * 6 + [False] * 3


def test_dataset_returns_a_zero_tensor_for_a_bad_file(image_files):
    from torchvision import transforms as T

    ds = ImageListDataset([image_files["ok"][0], image_files["unreadable"][0]],
                          T.Compose([T.Resize((32, 32)), T.ToTensor()]), 32)
    x0, _, ok0, _ = ds[0]
    x1, _, ok1, _ = ds[1]
    assert ok0 and not ok1
    assert x0.shape == x1.shape == (3, 32, 32) and float(x1.abs().sum()) == 0.0


def test_load_images_refuses_unreadable(image_files):
    import pytest

    assert len(load_images(image_files["ok"][:2], max_side=40)) == 2
    assert max(load_images(image_files["ok"][:1], max_side=40)[0].size) <= 40
    with pytest.raises(ValueError, match="unreadable"):
        load_images(image_files["unreadable"])


def test_flipkart_photos_are_readable(real_data):
    paths = sorted(str(p) for p in (real_data / "flipkart" / "images").glob("*.jpg"))
    audit = audit_images(paths[:200])
    assert audit.n_total == 200 and audit.n_ok == 200
