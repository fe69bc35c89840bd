"""Product catalogues for study 2: the Rakuten challenge files and a generic catalogue (Flipkart).

Every loader returns the same frame (one row per listing)::

    id, designation, description, text, image_path, image_status, label

`text` is the cleaned designation + description (the text model's input); `image_path` is a readable
image file or None (`image_status` says "ok", "missing" or "unreadable": nothing is dropped silently,
and `ProductData.report` counts each case). Labels are strings; `ProductData.labels` is sorted.

A CSV record that cannot be used (wrong number of fields, an unparsable id, no label) is skipped and
reported with its line number (`RowProblem`), as the e-mail loaders do; only a file with no usable
record at all is an error.

`load_products(DATA_DIR, DATASET, SEED)` is what the notebooks call; with `DATA_DIR == ""` it generates
(once, deterministically from the seed) the demo catalogue of `lib.products.demo`, labelled synthetic.
"""
from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from lib.core.csvfile import reader_with_header
from lib.core.datasets import resolve_dataset
from lib.products.text import clean_text, join_fields

COLUMNS = ["id", "designation", "description", "text", "image_path", "image_status", "label"]
RAKUTEN_X = "X_train_update.csv"
RAKUTEN_Y = "Y_train_CVw08PX.csv"
RAKUTEN_IMAGES = Path("images") / "image_train"
DATASETS = ("flipkart", "rakuten_sample", "rakuten")
N_PROBLEMS_SHOWN = 5  # skipped rows listed in `ProductData.report` (all are in `ProductData.row_problems`)


@dataclass(frozen=True)
class RowProblem:
    """A CSV record that was skipped: the file, its first line (1-based, the header is line 1) and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.reason}"


@dataclass
class ProductData:
    """A loaded catalogue: the standard frame, its sorted labels and a data-quality report."""

    df: pd.DataFrame
    labels: list[str]
    report: dict[str, int | str]  # counts; "rows_skipped_first" lists the first skipped CSV rows and why
    source: str  # "real" or "demo"
    name: str  # short key: "demo", "flipkart", "rakuten_sample", "rakuten" (names the artefact folder)
    title: str = ""  # human-readable, says "synthetic" for the demo data
    folder: str | None = None
    extra: dict = field(default_factory=dict)
    row_problems: list[RowProblem] = field(default_factory=list)  # every skipped CSV record

    @property
    def has_images(self) -> bool:
        """True when at least one listing has a readable image."""
        return bool(self.df["image_path"].notna().any())


# ----------------------------------------------------------------------------------------------------------
# Image checks
# ----------------------------------------------------------------------------------------------------------
def check_image(path: str | Path | None) -> str:
    """"ok" when the file opens and decodes, "missing" when absent, "unreadable" otherwise."""
    from PIL import Image

    if path is None or (isinstance(path, float) and pd.isna(path)):
        return "missing"
    p = Path(path)
    if not p.is_file():
        return "missing"
    try:
        with Image.open(p) as im:
            im.draft("RGB", (64, 64))  # JPEG: decode at reduced scale; still reads the whole stream
            im.load()
            if im.width < 1 or im.height < 1:
                return "unreadable"
    except Exception:  # PIL raises many types (OSError, SyntaxError, DecompressionBombError...)
        return "unreadable"
    return "ok"


def _check_images(paths: Sequence[str | None], progress: bool = True) -> list[str]:
    from tqdm.auto import tqdm

    it = paths
    if progress and len(paths) > 2000:
        it = tqdm(paths, desc="checking images", unit="img")
    return [check_image(p) for p in it]


# ----------------------------------------------------------------------------------------------------------
# Reading CSV records one by one (a bad record is skipped and reported, not fatal)
# ----------------------------------------------------------------------------------------------------------
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (kept as surrogates on decoding)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def read_csv_records(path: str | Path, sep: str = ",") -> tuple[pd.DataFrame, list[RowProblem]]:
    """Every well-formed record of a CSV file, as strings, with where it came from.

    A record with the wrong number of fields, one the csv module cannot parse, or one holding bytes that
    are not UTF-8 is skipped and reported; blank lines are not records. Empty fields stay "" (callers
    decide what a missing value means for each column).

    Returns:
        (frame with the header's columns plus `_line` (the record's first line, header = 1) and `_record`
        (its 0-based position among the file's records, skipped ones included), the skipped records).

    Raises:
        ValueError: the file is empty or its header has duplicate names.
    """
    path = Path(path)
    content = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    reader, header = reader_with_header(content, path, sep)
    if len(set(header)) != len(header):
        raise ValueError(f"{path.name}: duplicate column names in the header {header}")
    rows, lines, records, problems = [], [], [], []
    record = -1
    while True:
        line = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            record += 1
            problems.append(RowProblem(path.name, line, f"malformed CSV: {err}"))
            continue
        if not rec or all(not c.strip() for c in rec):
            continue  # blank lines are not records
        record += 1
        if len(rec) != len(header):
            problems.append(RowProblem(path.name, line,
                                       f"wrong field count: {len(rec)} fields, header has {len(header)}"))
        elif any(_UNDECODABLE.search(c) for c in rec):
            problems.append(RowProblem(path.name, line, "not valid UTF-8"))
        else:
            rows.append(rec)
            lines.append(line)
            records.append(record)
    df = pd.DataFrame(rows, columns=header, dtype=object)
    df["_line"], df["_record"] = lines, records
    return df, problems


def _no_valid_rows(what: str, problems: Sequence[RowProblem]) -> ValueError:
    shown = "; ".join(str(p) for p in problems[:N_PROBLEMS_SHOWN]) or "the file has no record"
    return ValueError(f"{what}: no valid listing ({len(problems)} rows skipped, e.g. {shown})")


# ----------------------------------------------------------------------------------------------------------
# Raw loaders (each returns the standard frame and the skipped CSV records)
# ----------------------------------------------------------------------------------------------------------
def _finalise(raw: pd.DataFrame, check_images: bool = True) -> pd.DataFrame:
    """Clean texts, check images, order columns: the standard frame."""
    df = raw.copy()
    df["id"] = df["id"].astype(str)
    if df["id"].duplicated().any():
        dup = df.loc[df["id"].duplicated(), "id"].head(3).tolist()
        raise ValueError(f"duplicate listing ids, e.g. {dup}")
    df["label"] = df["label"].astype(str)
    df["designation"] = df["designation"].map(clean_text)
    df["description"] = df["description"].map(clean_text)
    df["text"] = [join_fields(a, b) for a, b in zip(df["designation"], df["description"])]
    paths = [None if (p is None or (isinstance(p, float) and pd.isna(p))) else str(p) for p in df["image_path"]]
    status = _check_images(paths) if check_images else ["ok" if p else "missing" for p in paths]
    df["image_status"] = status
    df["image_path"] = [p if s == "ok" else None for p, s in zip(paths, status)]
    return df[COLUMNS].reset_index(drop=True)


def load_rakuten(folder: str | Path, image_dir: str | Path | None = None, check_images: bool = True
                 ) -> tuple[pd.DataFrame, list[RowProblem]]:
    """The challenge's training files: `X_train_update.csv` + `Y_train_CVw08PX.csv` (+ images when present).

    The two files are joined on their first (index) column. Skipped, with their line numbers: malformed
    records, listings whose productid/imageid is not an integer, listings without a label in Y, and
    labels whose listing is not in X.

    Args:
        folder: holds the two CSVs (and usually `images/image_train/`).
        image_dir: where `image_<imageid>_product_<productid>.jpg` live (default `folder/images/image_train`);
            when the folder does not exist every image is counted missing.

    Returns:
        (the standard frame, the skipped records).

    Raises:
        FileNotFoundError: a CSV is absent. ValueError: columns are not the challenge's, or no listing is valid.
    """
    folder = Path(folder)
    for name in (RAKUTEN_X, RAKUTEN_Y):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} lacks {name}: not the Rakuten challenge format")
    x, problems = read_csv_records(folder / RAKUTEN_X)
    y, y_problems = read_csv_records(folder / RAKUTEN_Y)
    missing = {"designation", "description", "productid", "imageid"} - set(x.columns)
    if missing or "prdtypecode" not in y.columns:
        cols = lambda d: [c for c in d.columns if not c.startswith("_")]  # noqa: E731
        raise ValueError(f"unexpected Rakuten columns: X has {cols(x)}, Y has {cols(y)}")
    x_id, y_id = x.columns[0], y.columns[0]  # the unnamed index column pandas writes
    labels: dict[str, str] = {}
    for i, code, line in zip(y[y_id].str.strip(), y["prdtypecode"].str.strip(), y["_line"]):
        if not i:
            y_problems.append(RowProblem(RAKUTEN_Y, line, "no listing id"))
        elif not code:
            y_problems.append(RowProblem(RAKUTEN_Y, line, f"missing label (listing {i})"))
        elif i in labels:
            y_problems.append(RowProblem(RAKUTEN_Y, line, f"listing {i} labelled twice"))
        else:
            labels[i] = code
    x_ids = set(x[x_id].str.strip())
    y_problems += [RowProblem(RAKUTEN_Y, line, f"listing {i} is not in {RAKUTEN_X}")
                   for i, line in zip(y[y_id].str.strip(), y["_line"]) if i and i in labels and i not in x_ids]
    image_dir = Path(image_dir) if image_dir is not None else folder / RAKUTEN_IMAGES
    has_dir = image_dir.is_dir()
    keep = []
    for r in x.itertuples(index=False):
        row = dict(zip(x.columns, r))
        i, line = str(row[x_id]).strip(), row["_line"]
        pid, iid = str(row["productid"]).strip(), str(row["imageid"]).strip()
        if not i:
            problems.append(RowProblem(RAKUTEN_X, line, "no listing id"))
        elif not (pid.isdigit() and iid.isdigit()):
            problems.append(RowProblem(RAKUTEN_X, line, f"productid/imageid not integers: {pid!r}, {iid!r}"))
        elif i not in labels:
            problems.append(RowProblem(RAKUTEN_X, line, f"missing label: listing {i} has no valid row in {RAKUTEN_Y}"))
        else:
            keep.append({"id": i, "designation": row["designation"], "description": row["description"],
                         "image_path": str(image_dir / f"image_{iid}_product_{pid}.jpg") if has_dir else None,
                         "label": labels[i]})
    problems = sorted(problems + y_problems, key=lambda p: (p.file, p.line))
    if not keep:
        raise _no_valid_rows(f"{folder} ({RAKUTEN_X} + {RAKUTEN_Y})", problems)
    return _finalise(pd.DataFrame(keep), check_images=check_images), problems


def load_catalogue(csv: str | Path, text_cols: Sequence[str], image_col: str | None, label_col: str,
                   image_root: str | Path | None = None, label_fn: Callable[[object], str] | None = None,
                   id_col: str | None = None, check_images: bool = True) -> tuple[pd.DataFrame, list[RowProblem]]:
    """A generic catalogue CSV: text columns, an image-file column and a label column.

    Records that are malformed, lack a label (or an id, with `id_col`) or whose label `label_fn` cannot
    parse are skipped and reported with their line numbers.

    Args:
        text_cols: the first is the designation (title); the others are joined into the description.
        image_col: column of image file names (relative to `image_root`) or paths; None when there are no images.
        label_col: the label column; `label_fn` maps its raw value to the label (e.g. first level of a tree).
        id_col: a unique id column (default: the record's position in the file, from 0).

    Returns:
        (the standard frame, the skipped records).
    """
    csv = Path(csv)
    if not text_cols:
        raise ValueError("text_cols must name at least one column (the designation)")
    df, problems = read_csv_records(csv)
    needed = [*text_cols, label_col, *([image_col] if image_col else []), *([id_col] if id_col else [])]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        has = [c for c in df.columns if not c.startswith("_")]
        raise ValueError(f"{csv.name} lacks columns {absent}; it has {has}")
    root = Path(image_root) if image_root is not None else csv.parent
    keep = []
    for r in df.itertuples(index=False):
        row = dict(zip(df.columns, r))
        line = row["_line"]
        if id_col and _missing(row[id_col]):
            problems.append(RowProblem(csv.name, line, f"missing id ({id_col})"))
            continue
        if _missing(row[label_col]):
            problems.append(RowProblem(csv.name, line, f"missing label ({label_col})"))
            continue
        try:
            label = label_fn(row[label_col]) if label_fn else str(row[label_col]).strip()
        except Exception as err:  # a user-supplied parser: any failure is this row's problem
            problems.append(RowProblem(csv.name, line, f"unparsable label {row[label_col]!r}: {err}"))
            continue
        if _missing(label):
            problems.append(RowProblem(csv.name, line, f"missing label: {row[label_col]!r} gives an empty label"))
            continue
        image = row[image_col].strip() if image_col else ""
        keep.append({"id": row[id_col].strip() if id_col else row["_record"], "designation": row[text_cols[0]],
                     "description": " ".join(t for t in (clean_text(row[c]) for c in text_cols[1:]) if t),
                     "image_path": str(root / image) if image else None, "label": str(label)})
    problems.sort(key=lambda p: p.line)
    if not keep:
        raise _no_valid_rows(csv.name, problems)
    return _finalise(pd.DataFrame(keep), check_images=check_images), problems


def first_category(tree: object) -> str:
    """First level of a Flipkart `product_category_tree` ('["Watches >> Wrist Watches >> ..."]' → "Watches")."""
    s = str(tree)
    try:
        parsed = ast.literal_eval(s)
        if isinstance(parsed, (list, tuple)) and parsed:
            s = str(parsed[0])
    except (ValueError, SyntaxError):
        s = s.strip('[]"')
    return s.split(">>")[0].strip()


def load_flipkart(folder: str | Path, check_images: bool = True) -> tuple[pd.DataFrame, list[RowProblem]]:
    """The Flipkart catalogue: product_name + description, `images/<image>`, label = first category level."""
    folder = Path(folder)
    return load_catalogue(folder / "products.csv", text_cols=["product_name", "description"], image_col="image",
                          label_col="product_category_tree", image_root=folder / "images", label_fn=first_category,
                          id_col="uniq_id", check_images=check_images)


# ----------------------------------------------------------------------------------------------------------
# What the notebooks call
# ----------------------------------------------------------------------------------------------------------
def verify_images(df: pd.DataFrame) -> pd.DataFrame:
    """Open every image still marked "ok": unreadable files get status "unreadable" and image_path None."""
    df = df.copy()
    paths = [p if s == "ok" else None for p, s in zip(df["image_path"], df["image_status"])]
    status = [s if s != "ok" else c for s, c in zip(df["image_status"], _check_images(paths))]
    df["image_status"] = status
    df["image_path"] = [p if s == "ok" else None for p, s in zip(paths, status)]
    return df


def quality_report(df: pd.DataFrame) -> dict[str, int]:
    """Counts that say what the data lacks: rows, classes, missing descriptions, missing/unreadable images."""
    return {
        "rows": int(len(df)),
        "classes": int(df["label"].nunique()),
        "missing_descriptions": int((df["description"] == "").sum()),
        "empty_texts": int((df["text"] == "").sum()),
        "missing_images": int((df["image_status"] == "missing").sum()),
        "unreadable_images": int((df["image_status"] == "unreadable").sum()),
        "images_ok": int((df["image_status"] == "ok").sum()),
    }


def subsample(df: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """A stratified, deterministic subsample of at most `max_rows` rows, at least 3 per class (or all of a
    smaller class) so that the train/validation/test split still sees every class."""
    from lib.core.sampling import stratified_indices

    keep = stratified_indices(df["label"].tolist(), max_rows, seed, min_per_class=3)
    return df.iloc[keep].reset_index(drop=True)


def load_products(data_dir: str, dataset: str = "flipkart", seed: int = 42, max_rows: int | None = None,
                  demo_rows: int = 1200) -> ProductData:
    """The notebooks' entry point: the real set `DATA_DIR/<dataset>`, or the demo catalogue when DATA_DIR is "".

    Args:
        data_dir: the notebook's DATA_DIR ("" → synthetic demo catalogue in the challenge's format).
        dataset: "flipkart", "rakuten_sample" or "rakuten" (a folder under data_dir).
        seed: seeds the demo generator and the subsample.
        max_rows: stratified subsample size (smoke profile); None keeps every row.
        demo_rows: size of the generated demo catalogue.

    Returns:
        A `ProductData`; its report counts the CSV records skipped (`rows_skipped`, before any subsample)
        and lists the first few with their line numbers and reasons (`rows_skipped_first`).

    Raises:
        DatasetNotFoundError: data_dir was given but the data set is not there (never a silent fallback).
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    folder = resolve_dataset(data_dir, dataset)
    # images are checked (opened) after subsampling: the smoke profile must not open every file
    if folder is None:
        from lib.products.demo import DEMO_NAME, generate_demo_catalogue  # demo imports this module's constants

        folder = generate_demo_catalogue(n=demo_rows, seed=seed)
        (df, problems), source, name = load_rakuten(folder, check_images=False), "demo", DEMO_NAME
        title = f"demo catalogue, Rakuten format, {df['label'].nunique()} classes (SYNTHETIC)"
    elif dataset == "flipkart":
        (df, problems), source, name = load_flipkart(folder, check_images=False), "real", dataset
        title = "Flipkart catalogue (real listings and photos)"
    else:
        (df, problems), source, name = load_rakuten(folder, check_images=False), "real", dataset
        title = f"Rakuten France challenge data ({dataset}, real)"
    n_all = len(df)
    df = verify_images(subsample(df, max_rows, seed))
    report: dict[str, int | str] = {**quality_report(df), "rows_skipped": len(problems)}
    if problems:
        report["rows_skipped_first"] = "; ".join(str(p) for p in problems[:N_PROBLEMS_SHOWN])
    if len(df) < n_all:
        report["rows_before_subsample"] = n_all
    return ProductData(df=df, labels=sorted(df["label"].unique().tolist()), report=report, source=source,
                       name=name, title=title, folder=str(folder), row_problems=list(problems))


def split_products(df: pd.DataFrame, seed: int, val_size: float = 0.15, test_size: float = 0.15) -> dict[str, pd.DataFrame]:
    """Stratified, deterministic train/val/test split (the same for 04, 05 and 06 given the same seed).

    Per class, rows are shuffled with the seed and cut by the shares; a class with at least 3 rows
    gets at least one row in each split, and train always keeps at least one (tiny classes such as
    rakuten_sample's 2-row codes go to train and test first). The result depends only on the rows'
    ids and labels, not on their order in `df`.
    """
    if not (0 < val_size < 1 and 0 < test_size < 1 and val_size + test_size < 1):
        raise ValueError("val_size and test_size must be in (0, 1) and sum below 1")
    d = df.reset_index(drop=True)
    order = np.argsort(d["id"].astype(str).to_numpy(), kind="stable")
    labels = d["label"].astype(str).to_numpy()[order]
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for label in sorted(set(labels)):
        idx = rng.permutation(order[labels == label])
        n = len(idx)
        n_test = int(round(n * test_size))
        n_val = int(round(n * val_size))
        if n >= 2:
            n_test = max(n_test, 1)
        if n >= 3:
            n_val = max(n_val, 1)
        while n - n_test - n_val < 1:  # keep at least one training row
            if n_val >= n_test and n_val > 0:
                n_val -= 1
            else:
                n_test -= 1
        parts["test"].extend(idx[:n_test].tolist())
        parts["val"].extend(idx[n_test:n_test + n_val].tolist())
        parts["train"].extend(idx[n_test + n_val:].tolist())
    return {k: d.iloc[np.sort(np.asarray(v, dtype=int))].reset_index(drop=True) for k, v in parts.items()}
