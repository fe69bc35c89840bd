"""Load images with Spark's `binaryFile` source, labels from the parent folder, corrupt files reported.

Layout expected (Fruits-360 and the generated demo set)::

    <root>/Training/<class>/*.jpg
    <root>/Test/<class>/*.jpg

`root` may be a local folder or an `s3://` (EMR: `s3://`, elsewhere `s3a://` with hadoop-aws) URI.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


def label_from_path(path: str) -> str:
    """The class of an image: its parent folder's name (the same rule as the Spark column in `read_images`)."""
    parts = [p for p in str(path).rstrip("/").split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"cannot take a label from {path!r}: no parent folder")
    return parts[-2]


def split_from_path(path: str) -> str:
    """The split of an image (`Training`/`Test`): the folder above its class folder."""
    parts = [p for p in str(path).rstrip("/").split("/") if p]
    return parts[-3] if len(parts) >= 3 else ""


def as_uri(path: str | Path) -> str:
    """A local path → an absolute `file:` URI; `s3://`, `s3a://`, `hdfs://`, `file:` URIs unchanged."""
    text = str(path)
    if "://" in text or text.startswith("file:"):
        return text
    return Path(text).expanduser().resolve().as_uri()


def read_images(spark: Any, root: str | Path, glob: str = "*.jpg") -> Any:
    """DataFrame (path, split, label, length, content) of every file matching `glob` under `root`.

    Uses `binaryFile` with `recursiveFileLookup` so any depth works; `split` and `label` come from the
    folder names. Nothing is decoded here (see `check_images`).
    """
    from pyspark.sql import functions as F

    df = (spark.read.format("binaryFile").option("pathGlobFilter", glob)
          .option("recursiveFileLookup", "true").load(as_uri(root)))
    parts = F.split(F.col("path"), "/")
    # Hadoop's Path.toString keeps folder names as they are (spaces included), locally and on S3.
    # Plain column functions only: this also runs on EMR's Spark 3.5.
    return df.select(
        "path",
        F.element_at(parts, -3).alias("split"),
        F.element_at(parts, -2).alias("label"),
        "length",
        "content",
    )


def decode_error(content: bytes | None) -> str | None:
    """None when `content` decodes to an RGB image; otherwise a short reason (kept in the report)."""
    from PIL import Image

    if content is None or len(content) == 0:
        return "empty file"
    try:
        with Image.open(io.BytesIO(content)) as im:
            im.load()  # full decode: a truncated JPEG passes `verify()` but fails here
            if im.width < 1 or im.height < 1:
                return "zero-sized image"
        return None
    except Exception as err:  # PIL raises many types (UnidentifiedImageError, OSError, SyntaxError...)
        return f"{type(err).__name__}: {str(err)[:120]}"


def _decode_error_series(content: pd.Series) -> pd.Series:
    return content.map(decode_error)


@dataclass
class ImageLoadReport:
    """What loading found: files, classes, and the corrupt files that were set aside."""

    n_files: int
    n_readable: int
    n_corrupt: int
    corrupt: list[dict[str, str]] = field(default_factory=list)
    per_split_class: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Flat figures for the report."""
        return {"n_files": self.n_files, "n_readable": self.n_readable, "n_corrupt": self.n_corrupt,
                "n_classes": len({c for d in self.per_split_class.values() for c in d})}


def check_images(df: Any, cache: bool = True) -> tuple[Any, ImageLoadReport]:
    """Decode every image once (in Spark, via a pandas UDF) and split off the unreadable ones.

    Returns:
        (readable images with the same columns, report with the count and list of corrupt files).
        Corrupt files are never fatal: they are counted, listed and left out.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    check = pandas_udf(_decode_error_series, "string")
    flagged = df.withColumn("decode_error", check("content"))
    if cache:
        flagged = flagged.cache()
    # One small aggregation (one Spark job): counts per (split, label) and the list of corrupt files.
    bad = F.when(F.col("decode_error").isNotNull(), F.struct("path", "decode_error"))
    rows = (flagged.groupBy("split", "label")
            .agg(F.count(F.when(F.col("decode_error").isNull(), 1)).alias("n_ok"), F.collect_list(bad).alias("bad"))
            .collect())
    per: dict[str, dict[str, int]] = {}
    corrupt: list[dict[str, str]] = []
    for row in rows:
        if row["n_ok"]:
            per.setdefault(row["split"], {})[row["label"]] = int(row["n_ok"])
        corrupt += [{"path": b["path"], "error": b["decode_error"]} for b in row["bad"]]
    per = {s: dict(sorted(d.items())) for s, d in sorted(per.items())}
    n_ok = sum(sum(d.values()) for d in per.values())
    corrupt.sort(key=lambda r: r["path"])
    report = ImageLoadReport(n_files=n_ok + len(corrupt), n_readable=n_ok, n_corrupt=len(corrupt), corrupt=corrupt,
                             per_split_class=per)
    good = flagged.where(F.col("decode_error").isNull()).drop("decode_error")
    return good, report


def sample_per_class(df: Any, n_per_class: int, seed: int, classes: list[str] | None = None) -> Any:
    """Keep at most `n_per_class` images per (split, label), chosen by a seeded hash of the path.

    Args:
        n_per_class: 0 or less keeps everything.
        classes: keep only these labels (None: all).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if classes is not None:
        df = df.where(F.col("label").isin(list(classes)))
    if n_per_class <= 0:
        return df
    w = Window.partitionBy("split", "label").orderBy(F.xxhash64("path", F.lit(int(seed))), "path")
    return df.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") <= n_per_class).drop("_rank")


def list_classes(df: Any) -> list[str]:
    """Sorted distinct labels of an images DataFrame."""
    return sorted(r["label"] for r in df.select("label").distinct().collect())
