"""Fetch the public Fruits-360 archive on a machine with internet, unpack it safely, find Training/Test.

This machine has no route to the data set's host; tests point `url` at a local archive they build.
"""
from __future__ import annotations

import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

# The maintained 100x100 repository (Horea Mureșan); its zip unpacks to fruits-360-100x100-main/Training, Test.
DEFAULT_URL = "https://github.com/fruits-360/fruits-360-100x100/archive/refs/heads/main.zip"


def _fetch(url: str, dest: Path) -> Path:
    """Copy a local path / file:// URL, or stream an http(s) URL with a progress bar."""
    if "://" not in url or url.startswith("file://"):
        src = Path(url[7:] if url.startswith("file://") else url).expanduser()
        if not src.is_file():
            raise FileNotFoundError(f"archive not found: {src}")
        shutil.copyfile(src, dest)
        return dest
    with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as out:  # noqa: S310 (user-given URL)
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {dest.name}") as bar:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
    return dest


def _safe_extract(archive: Path, target: Path) -> None:
    """Unpack a zip or tar(.gz/.bz2/.xz) refusing members that would land outside `target`."""
    target = target.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not (target / name).resolve().is_relative_to(target):
                    raise ValueError(f"unsafe path in archive: {name}")
            zf.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")  # "data" rejects absolute paths, .. and links outside
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")


def find_dataset_root(folder: Path) -> Path:
    """The shallowest folder under `folder` that holds both `Training/` and `Test/`."""
    candidates = sorted((p.parent for p in Path(folder).rglob("Training") if p.is_dir() and (p.parent / "Test").is_dir()),
                        key=lambda p: len(p.parts))
    if not candidates:
        raise FileNotFoundError(f"no folder with Training/ and Test/ under {folder}")
    return candidates[0]


def download_fruits360(dest: str | Path, url: str = DEFAULT_URL, keep_archive: bool = False) -> Path:
    """Download (or copy) and unpack Fruits-360 into `dest`; return the folder holding Training/ and Test/.

    Args:
        dest: where to unpack (e.g. `data/raw/fruits360`); reused when it already holds the data set.
        url: http(s) URL, `file://` URL or local path of a zip/tar archive.
    """
    dest = Path(dest)
    try:
        return find_dataset_root(dest)
    except FileNotFoundError:
        pass
    dest.mkdir(parents=True, exist_ok=True)
    name = url.rstrip("/").split("/")[-1] or "fruits360.zip"
    archive = _fetch(url, dest / f".download_{name}")
    try:
        _safe_extract(archive, dest)
    finally:
        if not keep_archive:
            archive.unlink(missing_ok=True)
    root = find_dataset_root(dest)
    n = sum(1 for _ in root.rglob("*.jpg"))
    if n == 0:
        raise ValueError(f"{root} holds Training/ and Test/ but no .jpg files")
    return root
