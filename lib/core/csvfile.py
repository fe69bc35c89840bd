"""Reading a delimited file's header: one place for the loaders of every study (decoding stays theirs)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any


def reader_with_header(content: str, path: str | Path, sep: str = ",") -> tuple[Any, list[str]]:
    """(a `csv.reader` over the decoded `content`, positioned after the header; the header's names, stripped).

    The reader is returned, not the rows, because loaders report each record's line from `reader.line_num`.

    Raises:
        ValueError: the file has no line at all.
    """
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{path} is empty") from None
    return reader, [h.strip() for h in header]
