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


def test_iter_image_batches_decodes_each_path_once_in_order(tiny_images, tiny_image_files, count_decodes):
    import numpy as np

    from lib.vision.images import iter_image_batches

    batches = list(iter_image_batches(tiny_image_files[:10], batch_size=4))
    assert [len(ims) for _, ims in batches] == [4, 4, 2]
    assert [i for idx, _ in batches for i in idx] == list(range(10))
    assert count_decodes == tiny_image_files[:10]
    for idx, ims in batches:
        for i, im in zip(idx, ims):
            np.testing.assert_array_equal(np.asarray(im), np.asarray(tiny_images[0][i]))


def test_iter_image_batches_raises_on_or_skips_unreadable_files(image_files):
    import pytest

    from lib.vision.images import iter_image_batches

    items = image_files["ok"][:2] + image_files["unreadable"] + image_files["missing"][:1] + image_files["ok"][2:3]
    with pytest.raises(ValueError, match="truncated.jpg' is unreadable"):
        list(iter_image_batches(items, 2))
    kept = list(iter_image_batches(items, 2, skip_unreadable=True))
    assert [i for idx, _ in kept for i in idx] == [0, 1, 4]


def test_iter_image_batches_takes_pil_images_shrinks_copies_and_uses_workers(tiny_images, tiny_image_files):
    import numpy as np

    from lib.vision.images import iter_image_batches

    originals = tiny_images[0][:3]
    (_, ims), = list(iter_image_batches(originals, batch_size=8, max_side=40))
    assert all(max(im.size) <= 40 for im in ims) and all(im.size == (72, 72) for im in originals)
    (_, same), = list(iter_image_batches(tiny_image_files[:3], batch_size=8, max_side=40))
    for a, b in zip(ims, same):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # decoding in a worker process gives the same images in the same order
    in_worker = list(iter_image_batches(tiny_image_files[:5], batch_size=2, num_workers=1))
    assert [i for idx, _ in in_worker for i in idx] == list(range(5))
    np.testing.assert_array_equal(np.asarray(in_worker[2][1][0]), np.asarray(tiny_images[0][4]))


def test_load_images_takes_pil_images_too(tiny_images, tiny_image_files):
    import numpy as np

    a, b = load_images([tiny_images[0][0], tiny_image_files[1]])
    np.testing.assert_array_equal(np.asarray(a), np.asarray(tiny_images[0][0]))
    assert a is not tiny_images[0][0]  # a copy: callers may modify it
    np.testing.assert_array_equal(np.asarray(b), np.asarray(tiny_images[0][1]))
