"""The evaluation oracle: is an answer right, judged from what the test turn was generated from.

Independent of the system under test: the expected facts come from the turn's generation record
(`meta["turns"]`: kind, amount, operators, out-of-range reason, account topic) and `BusinessRules`, never from the
router, the facts block or the guardrails; the answer's figures are read with this module's own number reader
(not `lib.assistant.amounts`, which the guardrails use).

An answer **resolves** the turn when it states every required figure (in any format users read: "1 836 FCFA",
"1.836 F", "1836 francs", "1,5 million"), asks for every required detail, says what the turn must say (WhatsApp
support, the account procedure's key step, a polite refusal) and **states nothing wrong**: a figure, percentage or
delay that is not among the turn's facts, a foreign currency, or another support contact is a hallucination.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lib.assistant.rules import DEFAULT_RULES, BusinessRules, _fold

# What each kind of turn must mention (patterns on folded text: lower case, no accents).
ASK_PATTERNS = {
    "id": r"identifiant|reference|\bid\b|\bref\b|numero de (?:la )?transaction|code de (?:la )?transaction|\[id_transaction\]",
    "amount": r"montant|combien avez|quelle somme|somme envoyee",
    "operators": r"operateur|reseau|d'envoi et de reception|(?:de|vers) quel",
}
MENTION_PATTERNS = {
    "whatsapp": r"whatsapp",
    "always_open": r"24\s?h\s?/\s?24|24\s?h(?:eures)?\s+sur\s+24|7\s?j(?:ours)?\s?/\s?7|tous les jours",
    "refusal": r"ne (?:peux|pourrai|suis pas)|pas en mesure|hors de|uniquement|seulement|que pour vos transferts|"
               r"malheureusement pas",
    "refund": r"rembours",
    "pending": r"en cours|verification|quelques minutes|en attente",
    "account_create": r"telecharg|application|inscri",
    "account_pin": r"code secret|oublie",
    "account_otp": r"renvoyer|reseau|numero",
    "account_add_number": r"ajouter|mes comptes",
    "account_delete": r"whatsapp|support",
    "several_transfers": r"plusieurs",
}
_UNIT = r"(?:\s?(?:f\s?cfa|fcfa|cfa|francs?(?:\s?cfa)?|xof|f)(?![a-z]))"
_MULT = r"(?:\s?(?:millions?|mille|mil|k)(?![a-z]))"
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<num>\d{1,3}(?:[ \u00a0\u202f.]\d{3})+|\d+(?:,\d+)?)(?![\d])(?P<mult>" + _MULT + r")?"
    r"(?P<unit>" + _UNIT + r"|\s?%|\s?pour\s?cent|\s?(?:euros?|€|dollars?|\$|usd)|"
    r"\s?(?:h|heures?|j|jours?|min|minutes?|semaines?|mois)(?![a-z])|)", re.IGNORECASE)
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}|(?<![\w.])\+?(?:\d[ .-]?){7,}\d(?!\d)", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case, accents removed, spaces collapsed (the rules' folding), typographic apostrophes made plain."""
    return _fold(text.replace("’", "'"))


@dataclass(frozen=True)
class Figure:
    """A number an answer states and how it reads."""

    value: float
    kind: str  # money, percent, duration, foreign, bare
    text: str


def read_figures(answer: str) -> list[Figure]:
    """Every number in the answer with its reading: FCFA amount, percentage, duration, foreign money, bare number."""
    out = []
    for m in _NUMBER.finditer(answer.replace("’", "'")):
        num, mult, unit = m.group("num"), (m.group("mult") or "").strip().lower(), (m.group("unit") or "").strip().lower()
        if re.fullmatch(r"\d{1,3}(?:[ \u00a0\u202f.]\d{3})+", num):
            value = float(re.sub(r"\D", "", num))
        else:
            value = float(num.replace(",", "."))
        value *= {"k": 1e3, "mil": 1e3, "mille": 1e3, "million": 1e6, "millions": 1e6}.get(mult, 1.0)
        if unit in ("%",) or unit.replace(" ", "") == "pourcent":
            kind = "percent"
        elif re.match(r"euro|€|dollar|\$|usd", unit):
            kind = "foreign"
        elif re.match(r"h|heure|j|jour|min|semaine|mois", unit):
            kind = "duration"
        elif unit or mult:
            kind = "money"
        else:
            kind = "bare"
        out.append(Figure(round(value, 6), kind, m.group(0)))
    return out


@dataclass(frozen=True)
class Expected:
    """What a right answer to one test turn states, asks and mentions; the figures it may state."""

    kind: str
    state: dict[str, float] = field(default_factory=dict)  # name → value that must appear (FCFA or %)
    ask: tuple[str, ...] = ()
    mention: tuple[str, ...] = ()
    allowed_money: frozenset[float] = frozenset()
    allowed_percent: frozenset[float] = frozenset()
    allowed_durations: frozenset[float] = frozenset({24.0, 7.0})


def expected_for(turn: dict[str, Any], rules: BusinessRules = DEFAULT_RULES) -> Expected:
    """The expected facts of a test turn, from its generation record (`meta["turns"][k]`) and the rules."""
    kind, amount, src, dst = turn["kind"], turn.get("amount"), turn.get("src"), turn.get("dst")
    user_amount = {float(amount)} if amount is not None else set()
    if kind == "fee_answer":
        q = rules.quote(amount, src, dst)
        state = {"fee": q.fee, "total": q.total}
        bounds = {"min": {rules.min_fee}, "max": {rules.max_fee}}.get(q.capped, set())
        return Expected(kind, state, allowed_money=frozenset({q.fee, q.total, *user_amount, *bounds}),
                        allowed_percent=frozenset({round(q.rate * 100, 6)}))
    if kind == "limit_answer":
        reason = turn.get("reason")
        state = ({"max_amount": rules.max_amount} if reason == "above_max" else
                 {"min_amount": rules.min_amount} if reason == "below_min" else
                 {"min_amount": rules.min_amount, "max_amount": rules.max_amount})
        return Expected(kind, state, allowed_money=frozenset({rules.min_amount, rules.max_amount, *user_amount}))
    if kind == "rates_answer":
        rates = {round(rules.same_operator_rate * 100, 6), round(rules.cross_operator_rate * 100, 6)}
        state = {"same_rate": round(rules.same_operator_rate * 100, 6),
                 "cross_rate": round(rules.cross_operator_rate * 100, 6), "min_fee": rules.min_fee,
                 "max_fee": rules.max_fee}
        return Expected(kind, state, allowed_money=frozenset({rules.min_fee, rules.max_fee}),
                        allowed_percent=frozenset(rates))
    if kind == "ask_operators":
        return Expected(kind, ask=("operators",), allowed_money=frozenset(user_amount))
    if kind == "ask_details":
        return Expected(kind, ask=("id", "amount", "operators"))
    if kind == "transfer_followup":
        pending = "refund" if turn.get("intent") == "failed_transfer" else "pending"
        return Expected(kind, mention=("whatsapp", pending), allowed_money=frozenset(user_amount))
    if kind == "support_answer":
        return Expected(kind, mention=("whatsapp", "always_open"))
    if kind == "account_answer":
        return Expected(kind, mention=(f"account_{turn.get('topic')}",))
    if kind == "out_of_scope":
        return Expected(kind, mention=("refusal",))
    return Expected(kind)  # closing and anything else: right when it states nothing wrong


@dataclass
class Verdict:
    """The oracle's judgement of one answer."""

    resolved: bool
    hallucinated: bool
    missing: list[str]
    wrong: list[str]
    fee_stated_right: bool | None  # fee turns: the exact fee is stated and no other fee-like figure


def judge(answer: str, expected: Expected) -> Verdict:
    """Check one answer against the expected facts of its turn."""
    folded = fold(answer)
    contacts = list(_CONTACT.finditer(answer))
    # Digits of a phone number are a contact, not figures.
    figures = [f for f in read_figures(answer) if not any(f.text.strip() in m.group(0) for m in contacts)]
    money = {f.value for f in figures if f.kind in ("money", "bare")}
    missing = [name for name, v in expected.state.items()
               if not any(abs(f.value - v) < 1e-6 for f in figures if f.kind in ("money", "bare", "percent"))]
    missing += [f"ask:{k}" for k in expected.ask if not re.search(ASK_PATTERNS[k], folded)]
    missing += [f"mention:{k}" for k in expected.mention if not re.search(MENTION_PATTERNS[k], folded)]
    wrong = []
    for f in figures:
        if f.kind == "percent" and f.value not in expected.allowed_percent:
            wrong.append(f"rate {f.text}")
        elif f.kind == "foreign":
            wrong.append(f"currency {f.text}")
        elif f.kind == "duration" and f.value not in expected.allowed_durations:
            wrong.append(f"delay {f.text}")
        elif f.kind == "money" and f.value not in expected.allowed_money:
            wrong.append(f"figure {f.text}")
        elif f.kind == "bare" and f.value >= 10 and f.value not in expected.allowed_money | expected.allowed_durations:
            wrong.append(f"figure {f.text}")  # "les frais sont de 30." states a fee without its unit
    for m in contacts:
        wrong.append(f"contact {m.group(0)}")
    fee_ok = None
    if "fee" in expected.state:
        fee_ok = expected.state["fee"] in money and not any(w.startswith(("figure", "rate")) for w in wrong)
    return Verdict(not missing and not wrong, bool(wrong), missing, wrong, fee_ok)
