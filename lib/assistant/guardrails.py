"""Guardrails: check every amount, fee, limit and percentage an answer states against the business rules.

`audit(answer, context)` finds the figures an answer states, gives each a role from the words around it
(fee, minimum/maximum fee, minimum/maximum amount, transfer amount, total, percentage) and checks it:

- fee: one of the fees the rules give for the amounts the user mentioned (both rates while an operator is unknown);
- minimum/maximum fee, minimum/maximum amount: the rule's bound; percentage: one of the rules' rates;
- amount / total / any other FCFA figure: must come from the conversation or the rules (else it is invented);
- a foreign currency (euros, dollars...): the app only deals in FCFA;
- facts: a support contact other than WhatsApp (phone, e-mail), support hours other than 24/7, a service the
  app does not offer that the user did not bring up.

`Guardrail.apply` corrects a wrong figure in place when the right one is known, and otherwise replaces the answer
with a safe one that routes to WhatsApp support; every intervention is counted by type.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from lib.assistant.amounts import Mention, find_mentions, money_values
from lib.assistant.rules import DEFAULT_RULES, BusinessRules, format_fcfa, format_rate, _fold

FEE_WORDS = r"frais|commission|co[uû]t|co[uû]te|tarif|tarifs|factur[ée]e?s?|pr[ée]lev[ée]e?s?|pr[ée]l[eè]vement"
MIN_WORDS = r"minimum|min|au moins|[àa] partir de|plancher|minimal|minimale"
MAX_WORDS = r"maximum|max|plafond|plafonn[ée]e?s?|au plus|jusqu'[àa]|pas plus de|d[ée]passer|maximal|maximale"
AMOUNT_WORDS = (r"pour|sur|transfert de|envoi de|envoyer|envoyez|envoy[ée]|montant|re[çc]oit|recevra|recevez|"
                r"transf[ée]rer|transf[ée]r[ée]")
TOTAL_WORDS = r"total|au total|payez|paierez|payerez|d[ée]bit[ée]|d[ée]bitera|d[ée]bit"
_KEYWORDS = [(role, re.compile(rf"(?<![\w'’])(?:{words})(?![\w'’])", re.IGNORECASE)) for role, words in
             (("fee", FEE_WORDS), ("min", MIN_WORDS), ("max", MAX_WORDS), ("total", TOTAL_WORDS),
              ("amount", AMOUNT_WORDS))]
_AFTER_BOUND = re.compile(rf"^\s*(?P<w>{MIN_WORDS}|{MAX_WORDS})(?![\w'’])", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?;\n]\s|[.!?;\n]$|\n")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
# Any run of 8+ digits reads as a phone number to the customer. Not `phonenumbers` (which the anonymiser uses):
# it accepts valid numbers only, and a number the model invents is usually not one but must be caught all the same.
_PHONE_RE = re.compile(r"(?<![\w.])(?:\+?\d[\s.-]?){8,}(?![\w.])")
_HOURS_RE = re.compile(r"\b(?:de\s+)?\d{1,2}\s?h(?:\d{2})?\s*(?:à|a|-)\s*\d{1,2}\s?h|du lundi au (?:vendredi|samedi)|"
                       r"jours ouvr[ée]s|heures de bureau|(?:sauf|pas)\s+(?:le\s+)?(?:dimanche|week-end|weekend)",
                       re.IGNORECASE)


@dataclass(frozen=True)
class GuardContext:
    """What the conversation so far tells: amounts the user stated and the operators (None when unknown)."""

    amounts: tuple[int, ...] = ()
    src: str | None = None
    dst: str | None = None
    user_text: str = ""


def operators_in(text: str, rules: BusinessRules = DEFAULT_RULES) -> list[str]:
    """Operator keys mentioned in a text, in order of appearance (aliases and accents handled)."""
    folded = _fold(text)
    hits = []
    for op in rules.operators:
        for alias in {_fold(a) for a in (op.key, op.name, *op.aliases)}:
            for m in re.finditer(rf"(?<![\w]){re.escape(alias)}(?![\w])", folded):
                hits.append((m.start(), m.end(), op.key))
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    out, last_end = [], -1
    for start, end, key in hits:  # drop overlaps ("orange money" vs "orange")
        if start >= last_end:
            out.append(key)
            last_end = end
    return out


_SAME_OP_RE = re.compile(r"(?:entre|sur)\s+(?:2|deux|mes|nos)\s+comptes|m[êe]me\s+op[ée]rateur|m[êe]me\s+r[ée]seau",
                         re.IGNORECASE)


def context_from_messages(messages: list[dict[str, str]], rules: BusinessRules = DEFAULT_RULES) -> GuardContext:
    """Parse the user turns: every amount they state, and the operators of the latest turn that names one."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    amounts: list[int] = []
    for text in users:
        amounts += money_values(text)
    src = dst = None
    for text in reversed(users):
        ops = operators_in(text, rules)
        if ops:
            src = ops[0]
            dst = ops[1] if len(ops) > 1 else (ops[0] if _SAME_OP_RE.search(text) else None)
            break
    return GuardContext(tuple(dict.fromkeys(amounts)), src, dst, "\n".join(users))


@dataclass(frozen=True)
class Finding:
    """One stated figure or fact, its role, and whether the rules allow it."""

    role: str  # fee, fee_min, fee_max, limit_min, limit_max, amount, total, rate, other, fact
    text: str
    value: float | None
    ok: bool
    expected: tuple[float, ...] = ()
    kind: str = ""  # the violation type when not ok
    start: int = -1
    end: int = -1


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    start = 0
    for m in _SENTENCE_END.finditer(text, 0, pos):
        start = m.end()
    m = _SENTENCE_END.search(text, pos)
    return start, (m.start() + 1 if m else len(text))


def _role(text: str, mention: Mention, prev_end: int = 0) -> str:
    """The role of a figure from the nearest keyword since the previous figure in its sentence.

    A bound word right after the figure ("100 FCFA minimum") also counts; with no keyword before it, a fee word
    just after it ("500 FCFA de frais") makes it a fee.
    """
    s_start, s_end = _sentence_bounds(text, mention.start)
    sentence = text[s_start:s_end]
    before = text[max(s_start, prev_end, mention.start - 80):mention.start]
    has_fee_topic = any(_KEYWORDS[0][1].search(sentence) for _ in [0])
    after = _AFTER_BOUND.match(text[mention.end:mention.end + 20])
    bound = None
    if after:
        bound = "min" if re.fullmatch(MIN_WORDS, after.group("w"), re.IGNORECASE) else "max"
    nearest, nearest_pos = None, -1
    for role, rx in _KEYWORDS:
        for m in rx.finditer(before):
            if m.end() > nearest_pos or (m.end() == nearest_pos and role != "amount"):
                nearest, nearest_pos = role, m.end()
    if bound is None and nearest in ("min", "max"):
        bound = nearest
    if bound:
        # "frais ... minimum 25 FCFA" is a fee bound; "montant ... 100 FCFA minimum" an amount limit.
        fee_near = nearest == "fee" or (has_fee_topic and not re.search(r"montant|transaction|envoyer|transf",
                                                                         before, re.IGNORECASE))
        return ("fee_" if fee_near else "limit_") + bound
    # No keyword before it: a fee word right after the figure ("500 FCFA de frais") makes it a fee; one further on
    # in the sentence ("25 700 FCFA a échoué : remboursé, frais compris") says nothing about this figure.
    if nearest is None and _KEYWORDS[0][1].search(text[mention.end:min(s_end, mention.end + 25)]):
        return "fee"
    return nearest or "other"


def audit(answer: str, context: GuardContext, rules: BusinessRules = DEFAULT_RULES) -> list[Finding]:
    """Every figure and checkable fact the answer states, each with a verdict."""
    findings: list[Finding] = []
    valid_amounts = [a for a in context.amounts if rules.check_amount(a) is None]
    fees: set[int] = set()
    totals: set[int] = set()
    for a in valid_amounts:
        for f in rules.possible_fees(a, context.src, context.dst):
            fees.add(f)
            totals.add(a + f)
    constants = {rules.min_fee, rules.max_fee, rules.min_amount, rules.max_amount}
    prev_end = 0
    for m in find_mentions(answer):
        prev_end, m_prev = m.end, prev_end
        if m.unit == "%":
            rates = {round(rules.same_operator_rate * 100, 6), round(rules.cross_operator_rate * 100, 6)}
            if context.src and context.dst:
                rates = {round(rules.rate_for(context.src, context.dst) * 100, 6)} | rates
            ok = round(m.value, 6) in rates
            findings.append(Finding("rate", m.text, m.value, ok, tuple(sorted(rates)), "" if ok else "wrong_rate",
                                    m.start, m.end))
            continue
        if m.unit == "OTHER":
            findings.append(Finding("currency", m.text, m.value, False, (), "wrong_currency", m.start, m.end))
            continue
        role = _role(answer, m, m_prev)
        money = m.is_money or role in ("fee", "fee_min", "fee_max", "limit_min", "limit_max", "total")
        if not money:
            continue
        v = int(round(m.value))
        expected: set[int]
        if role == "fee":
            expected = fees
        elif role == "fee_min":
            expected = {rules.min_fee}
        elif role == "fee_max":
            expected = {rules.max_fee}
        elif role == "limit_min":
            expected = {rules.min_amount}
        elif role == "limit_max":
            expected = {rules.max_amount}
        elif role == "total":
            expected = totals
        elif role == "amount":
            expected = set(context.amounts) | {rules.min_amount, rules.max_amount}
        else:
            expected = set(context.amounts) | fees | totals | constants
        ok = v in expected
        kind = "" if ok else {"fee": "wrong_fee", "fee_min": "wrong_fee_bound", "fee_max": "wrong_fee_bound",
                              "limit_min": "wrong_limit", "limit_max": "wrong_limit", "total": "wrong_total"
                              }.get(role, "invented_figure")
        findings.append(Finding(role, m.text, v, ok, tuple(sorted(expected)), kind, m.start, m.end))
    findings += _audit_facts(answer, context, rules)
    return findings


def _audit_facts(answer: str, context: GuardContext, rules: BusinessRules) -> list[Finding]:
    out = []
    for m in _EMAIL_RE.finditer(answer):
        out.append(Finding("fact", m.group(0), None, False, (), "support_contact", m.start(), m.end()))
    for m in _PHONE_RE.finditer(answer):
        if len(re.sub(r"\D", "", m.group(0))) >= 8:
            out.append(Finding("fact", m.group(0), None, False, (), "support_contact", m.start(), m.end()))
    for m in _HOURS_RE.finditer(answer):
        out.append(Finding("fact", m.group(0), None, False, (), "support_hours", m.start(), m.end()))
    user = _fold(context.user_text)
    folded = _fold(answer)
    from lib.assistant.rules import UNSUPPORTED_SERVICES

    for service in UNSUPPORTED_SERVICES:
        rx = re.compile(rf"(?<![\w]){re.escape(service)}(?![\w])")
        if rx.search(folded) and not rx.search(user):
            out.append(Finding("fact", service, None, False, (), "unsupported_service"))
    return out


def violations(answer: str, context: GuardContext, rules: BusinessRules = DEFAULT_RULES) -> list[Finding]:
    """The findings that contradict the rules."""
    return [f for f in audit(answer, context, rules) if not f.ok]


def safe_answer(context: GuardContext, rules: BusinessRules = DEFAULT_RULES) -> str:
    """An answer that cannot be wrong: the exact quote when everything is known, else a route to support."""
    support = (f"Pour une réponse fiable sur ce point, écrivez à notre support {rules.support_channel} "
               f"({rules.support_hours}), accessible depuis la rubrique Aide de l'application.")
    valid = [a for a in context.amounts if rules.check_amount(a) is None]
    if len(valid) == 1 and context.src and context.dst:
        q = rules.quote(valid[0], context.src, context.dst)
        return (f"Pour un transfert de {format_fcfa(q.amount)} de {rules.operator(q.src).name} vers "
                f"{rules.operator(q.dst).name}, les frais sont de {format_fcfa(q.fee)}. {support}")
    return support


@dataclass
class GuardResult:
    """The guarded answer, what was wrong in the raw one, and what the guard did."""

    text: str
    raw_violations: list[Finding]
    interventions: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.interventions)


_FIXABLE = {"wrong_fee": "fee_corrected", "wrong_fee_bound": "fee_bound_corrected", "wrong_limit": "limit_corrected",
            "wrong_total": "total_corrected", "wrong_rate": "rate_corrected"}


@dataclass
class Guardrail:
    """Correct or replace answers whose figures or facts contradict the rules; counts interventions by type."""

    rules: BusinessRules = DEFAULT_RULES
    counts: Counter = field(default_factory=Counter)

    def apply(self, answer: str, context: GuardContext | list[dict[str, str]]) -> GuardResult:
        """Check `answer` given the conversation (a `GuardContext` or the messages before the answer)."""
        if not isinstance(context, GuardContext):
            context = context_from_messages(context, self.rules)
        bad = violations(answer, context, self.rules)
        if not bad:
            return GuardResult(answer, [], [])
        actions: list[str] = []
        text = answer
        replace = False
        for f in sorted(bad, key=lambda f: -f.start):
            unique = len(f.expected) == 1
            if f.kind == "wrong_rate" and context.src and context.dst:
                text = text[:f.start] + format_rate(self.rules.rate_for(context.src, context.dst)) + text[f.end:]
                actions.append("rate_corrected")
            elif f.kind in _FIXABLE and f.kind != "wrong_rate" and unique:
                text = text[:f.start] + format_fcfa(f.expected[0]) + text[f.end:]
                actions.append(_FIXABLE[f.kind])
            else:
                replace = True
                actions.append(f"replaced:{f.kind}")
        if replace or violations(text, context, self.rules):
            text = safe_answer(context, self.rules)
            if not any(a.startswith("replaced") for a in actions):
                actions.append("replaced:still_wrong_after_correction")
        self.counts.update(actions)
        return GuardResult(text, bad, actions)
