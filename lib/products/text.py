"""Text cleaning for product listings: HTML tags and entities, whitespace, placeholder descriptions."""
from __future__ import annotations

import html
import re

import pandas as pd

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
# Descriptions that carry no information (seen in the Rakuten data: "nc" = "non communiqué").
PLACEHOLDERS = frozenset({"", "nc", "n/a", "na", "nan", "none", "null", "-"})


def clean_text(value: object) -> str:
    """Unescape HTML entities, drop tags, collapse whitespace; NaN/None/placeholders become ""."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = html.unescape(str(value))
    text = _TAG.sub(" ", text)
    text = html.unescape(text)  # double-escaped entities such as "&amp;eacute;"
    text = _SPACE.sub(" ", text).strip()
    return "" if text.lower() in PLACEHOLDERS else text


def join_fields(designation: object, description: object) -> str:
    """The model's input text: cleaned designation, then cleaned description (either may be empty)."""
    parts = [clean_text(designation), clean_text(description)]
    return " ".join(p for p in parts if p)
