"""Find the amounts, fees, limits and percentages a French text states.

Handles the ways people write FCFA amounts: "1 500 000", "1.500.000", "1500000", "25F", "500 FCFA",
"100k", "100 mille", "25mil", "1,5 million", "2 %". Numbers that are durations ("24h", "7j", "2 jours")
or parts of identifiers ("ET24A7K9") are not amounts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"(?:\d{1,3}(?:(?:[ \u00a0\u202f]|\.)\d{3})+|\d{1,3}(?:,\d{3})+(?![.,]?\d)|\d+(?:[.,]\d+)?)"
_MULT = r"(?P<mult>millions?|million|mill?ions?|M(?![a-zA-Z])|mill?e?s?(?![a-zà-ÿ])|k(?![a-zA-Z])|K(?![a-zA-Z]))"
_UNIT = (r"(?P<unit>f\s?cfa|fcfa|cfa|francs?(?:\s?cfa)?|xof|f(?![a-zà-ÿ])|%|pour\s?cent|pourcents?|"
         r"euros?|€|eur(?![a-zà-ÿ])|dollars?|\$|usd|nairas?|cedis?)")
# Words after a number that make it a duration, a count or an ordinal, not money.
_NOT_MONEY_AFTER = r"(?:h(?![a-zà-ÿ])|h\d|heures?|j(?![a-zà-ÿ])|jours?|min(?:utes?)?(?![a-zà-ÿ])|mn|semaines?|mois|ans?(?![a-zà-ÿ])|fois|ème|eme|er(?![a-zà-ÿ])|e(?![a-zà-ÿ])|x(?![a-zà-ÿ]))"
MENTION_RE = re.compile(
    rf"(?<![\w.,/\[])(?P<num>{_NUM})(?!/)(?!\s?{_NOT_MONEY_AFTER})(?:\s?{_MULT})?(?:\s?{_UNIT})?(?![\w\]])",
    re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """A number stated in a text, with its unit ("FCFA", "%" or None) and character span."""

    value: float
    start: int
    end: int
    text: str
    unit: str | None  # "FCFA", "%", "OTHER" (a foreign currency) or None
    multiplied: bool

    @property
    def is_money(self) -> bool:
        """Whether it reads as an amount of money (a currency unit or a thousands multiplier)."""
        return self.unit == "FCFA" or (self.unit is None and self.multiplied)


def _to_number(num: str) -> float:
    """"1 500 000" / "1.500.000" / "1,500,000" → 1500000; "1,5" / "1.5" → 1.5."""
    s = num.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:[ .]\d{3})+", s):
        return float(re.sub(r"[ .]", "", s))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", s):
        return float(s.replace(",", ""))
    return float(s.replace(",", "."))


def _multiplier(word: str | None) -> float:
    if not word:
        return 1.0
    w = word.lower()
    if w.startswith("mil") and "lion" not in w:
        return 1_000.0
    if w.startswith(("million", "milion")) or word == "M":
        return 1_000_000.0
    if w == "m":  # lower-case "m" after a number is ambiguous (metres, minutes): treat as millions only if "M"
        return 1_000_000.0
    if w == "k":
        return 1_000.0
    return 1.0


def find_mentions(text: str) -> list[Mention]:
    """Every number in `text` that could be an amount, a fee, a limit or a percentage."""
    out = []
    for m in MENTION_RE.finditer(text or ""):
        raw_unit = (m.group("unit") or "").lower().replace(" ", "")
        if raw_unit in ("%", "pourcent", "pourcents"):
            unit = "%"
        elif re.match(r"euro|€|eur|dollar|\$|usd|naira|cedi", raw_unit):
            unit = "OTHER"  # a foreign currency: the app only deals in FCFA
        else:
            unit = "FCFA" if raw_unit else None
        value = _to_number(m.group("num")) * _multiplier(m.group("mult"))
        out.append(Mention(value=value, start=m.start(), end=m.end(), text=m.group(0), unit=unit,
                           multiplied=bool(m.group("mult"))))
    return out


def money_values(text: str, min_plain: int = 100) -> list[int]:
    """Amounts of money a user states: numbers with a currency or multiplier, or plain integers >= `min_plain`."""
    vals = []
    for m in find_mentions(text):
        if m.unit in ("%", "OTHER") or (m.unit is None and not m.multiplied and len(re.sub(r"\D", "", m.text)) >= 8):
            continue  # percentages; phone-like digit runs
        if m.start > 0 and text[m.start - 1] == "+":
            continue
        if m.is_money or (m.unit is None and m.value >= min_plain and float(m.value).is_integer()):
            vals.append(int(round(m.value)))
    return vals
