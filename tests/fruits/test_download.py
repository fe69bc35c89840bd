"""The Fruits-360 download helper, pointed at local archives (zip and tar.gz) built here."""
from __future__ import annotations

import tarfile
import zipfile

import pytest

from lib.fruits.demo import generate_demo_fruits
from lib.fruits.download import download_fruits360, find_dataset_root


@pytest.fixture()
def demo_tree(tmp_path):
    return generate_demo_fruits(tmp_path / "src" / "fruits-360-100x100-main", n_classes=2, n_train=2, n_test=1)


def test_zip_archive_by_path_and_file_url(tmp_path, demo_tree):
    archive = tmp_path / "main.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in demo_tree.rglob("*"):
            zf.write(p, p.relative_to(demo_tree.parent))
    root = download_fruits360(tmp_path / "out1", url=str(archive))
    assert root.name == "fruits-360-100x100-main" and len(list(root.rglob("*.jpg"))) == 6
    assert not list((tmp_path / "out1").glob(".download_*"))  # archive removed after unpacking
    root2 = download_fruits360(tmp_path / "out2", url=archive.as_uri())
    assert (root2 / "Training").is_dir() and (root2 / "Test").is_dir()
    assert download_fruits360(tmp_path / "out2", url="file:///nonexistent.zip") == root2  # already there: reused


def test_tar_gz_archive(tmp_path, demo_tree):
    archive = tmp_path / "fruits.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(demo_tree, arcname="nested/fruits-360")
    root = download_fruits360(tmp_path / "out", url=str(archive))
    assert root == (tmp_path / "out" / "nested" / "fruits-360") and len(list(root.rglob("*.jpg"))) == 6


def test_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="archive not found"):
        download_fruits360(tmp_path / "o", url=str(tmp_path / "missing.zip"))
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(ValueError, match="unsafe"):
        download_fruits360(tmp_path / "o2", url=str(evil))
    not_archive = tmp_path / "x.zip"
    not_archive.write_text("hello")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        download_fruits360(tmp_path / "o3", url=str(not_archive))
    with pytest.raises(FileNotFoundError):
        find_dataset_root(tmp_path / "o3")
