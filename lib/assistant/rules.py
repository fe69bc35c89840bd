"""EasyTransfert's business rules as code: operators, fees, limits, support.

The single source of truth for the conversation generator, the system prompt and the guardrails.
Where the original study leaves a choice open ("fees 1-2 %"), the choice is an explicit, configurable
field of `BusinessRules`:

- `same_operator_rate` (1 %) applies when sender and receiver use the same operator,
  `cross_operator_rate` (2 %) when they differ;
- the fee is `ceil(rate * amount)` clamped to [`min_fee`, `max_fee`] = [25, 500] FCFA;
- the sender pays the fee on top of the amount (`total = amount + fee`); the receiver gets the amount;
- an amount is allowed when `min_amount <= amount <= max_amount` (100 to 1,500,000 FCFA, bounds included).
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Operator:
    """A mobile-money operator and the ways users write its name."""

    key: str
    name: str
    aliases: tuple[str, ...]


OPERATORS: tuple[Operator, ...] = (
    Operator("mtn", "MTN", ("mtn", "mtn money", "mtn momo", "momo", "mobile money")),
    Operator("orange", "Orange", ("orange", "orange money", "om")),
    Operator("moov", "Moov", ("moov", "moov money", "moov africa", "flooz")),
    Operator("wave", "Wave", ("wave",)),
    Operator("tresor", "Trésor Money", ("trésor money", "tresor money", "trésor", "tresor", "tresormoney")),
)
# Services users ask about that the app does NOT support: an answer claiming them is a hallucination.
UNSUPPORTED_SERVICES: tuple[str, ...] = ("airtel", "free money", "wizall", "western union", "moneygram",
                                         "paypal", "djamo", "ria", "visa", "mastercard")


class AmountOutOfRange(ValueError):
    """An amount outside the per-transaction limits."""

    def __init__(self, amount: int, reason: str, rules: "BusinessRules"):
        self.amount, self.reason = amount, reason
        bound = rules.min_amount if reason == "below_min" else rules.max_amount
        super().__init__(f"{format_fcfa(amount)} is {'below the minimum' if reason == 'below_min' else 'above the maximum'}"
                         f" per transaction ({format_fcfa(bound)})")


@dataclass(frozen=True)
class FeeQuote:
    """The fee of one transfer and how it was obtained."""

    amount: int
    src: str
    dst: str
    rate: float
    fee: int
    total: int
    capped: str | None  # "min", "max" or None when the percentage applied as is

    @property
    def same_operator(self) -> bool:
        return self.src == self.dst


@dataclass(frozen=True)
class BusinessRules:
    """Fees, limits and support facts of the app (FCFA, integers)."""

    same_operator_rate: float = 0.01
    cross_operator_rate: float = 0.02
    min_fee: int = 25
    max_fee: int = 500
    min_amount: int = 100
    max_amount: int = 1_500_000
    fee_payer: str = "sender"
    support_channel: str = "WhatsApp"
    support_hours: str = "24h/24, 7j/7"
    # What happens to a transfer the customer reports (the answer states it; the facts block carries it).
    failed_transfer_status: str = "échoué, remboursé automatiquement sur le compte d'envoi, frais compris"
    late_transfer_status: str = "en cours de vérification, la plupart arrivent en quelques minutes"
    support_after_hours: int = 24  # with no refund / no arrival after this many hours, the customer writes to support
    operators: tuple[Operator, ...] = field(default=OPERATORS)

    def __post_init__(self) -> None:
        if not (0 < self.same_operator_rate < 1 and 0 < self.cross_operator_rate < 1):
            raise ValueError("fee rates are fractions in (0, 1), e.g. 0.01 for 1 %")
        if not (0 < self.min_fee <= self.max_fee):
            raise ValueError(f"need 0 < min_fee <= max_fee, got {self.min_fee}, {self.max_fee}")
        if not (0 < self.min_amount < self.max_amount):
            raise ValueError(f"need 0 < min_amount < max_amount, got {self.min_amount}, {self.max_amount}")
        if self.fee_payer != "sender":
            raise ValueError("only fee_payer='sender' is implemented (the fee is added to the amount)")

    # ------------------------------------------------------------------ operators
    def operator(self, key_or_alias: str) -> Operator:
        """The operator for a key, name or alias (case and accents ignored)."""
        wanted = _fold(key_or_alias)
        for op in self.operators:
            if wanted in {_fold(op.key), _fold(op.name), *(_fold(a) for a in op.aliases)}:
                return op
        raise KeyError(f"unknown operator {key_or_alias!r}; supported: {', '.join(o.name for o in self.operators)}")

    @property
    def operator_names(self) -> list[str]:
        return [op.name for op in self.operators]

    # ------------------------------------------------------------------ fees and limits
    def rate_for(self, src: str, dst: str) -> float:
        """The percentage that applies between two operators (same-operator vs cross-operator)."""
        return self.same_operator_rate if self.operator(src).key == self.operator(dst).key else self.cross_operator_rate

    def check_amount(self, amount: int) -> str | None:
        """None when the amount is allowed, else "below_min" or "above_max"."""
        if amount < self.min_amount:
            return "below_min"
        if amount > self.max_amount:
            return "above_max"
        return None

    def quote(self, amount: int, src: str, dst: str) -> FeeQuote:
        """The fee of sending `amount` FCFA from `src` to `dst`.

        Raises:
            AmountOutOfRange: the amount is outside [min_amount, max_amount].
        """
        amount = int(amount)
        reason = self.check_amount(amount)
        if reason:
            raise AmountOutOfRange(amount, reason, self)
        rate = self.rate_for(src, dst)
        raw = math.ceil(round(rate * amount, 6))  # round first: 0.01 * 2500 must not become 25.000000000000004
        fee = min(max(raw, self.min_fee), self.max_fee)
        capped = "min" if raw < self.min_fee else "max" if raw > self.max_fee else None
        return FeeQuote(amount, self.operator(src).key, self.operator(dst).key, rate, fee, amount + fee, capped)

    def possible_fees(self, amount: int, src: str | None = None, dst: str | None = None) -> set[int]:
        """Fees consistent with what is known (both rates when an operator is unknown)."""
        if self.check_amount(amount):
            return set()
        if src and dst:
            return {self.quote(amount, src, dst).fee}
        same = self.operators[0].key
        other = self.operators[1].key
        return {self.quote(amount, same, same).fee, self.quote(amount, same, other).fee}

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for the metrics file and adapter manifest)."""
        d = asdict(self)
        d["operators"] = [op.name for op in self.operators]
        return d


DEFAULT_RULES = BusinessRules()


def _fold(text: str) -> str:
    """Lower-case, accents removed, spaces collapsed (for alias matching)."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip()


def format_fcfa(amount: int | float, unit: str = "FCFA") -> str:
    """1500000 → "1 500 000 FCFA" (plain spaces as thousands separators)."""
    return f"{int(round(amount)):,}".replace(",", " ") + (f" {unit}" if unit else "")


def format_rate(rate: float) -> str:
    """0.01 → "1 %", 0.015 → "1,5 %" (French decimal comma)."""
    pct = rate * 100
    text = f"{pct:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + " %"


def rules_summary(rules: BusinessRules = DEFAULT_RULES) -> str:
    """One French paragraph stating every rule (used by the system prompt and the safe answer)."""
    return (f"Frais : {format_rate(rules.same_operator_rate)} entre comptes du même opérateur, "
            f"{format_rate(rules.cross_operator_rate)} entre opérateurs différents, minimum {format_fcfa(rules.min_fee)}, "
            f"maximum {format_fcfa(rules.max_fee)}, payés par l'expéditeur. Montant par transaction : de "
            f"{format_fcfa(rules.min_amount)} à {format_fcfa(rules.max_amount)}. Support {rules.support_channel} "
            f"{rules.support_hours}.")
