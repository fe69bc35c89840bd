"""Amount parsing and the guardrail on crafted wrong answers (and leaving right ones alone)."""
import pytest

from lib.assistant.amounts import find_mentions, money_values
from lib.assistant.guardrails import (GuardContext, Guardrail, audit, context_from_messages, operators_in,
                                      safe_answer, violations)
from lib.assistant.rules import DEFAULT_RULES, rules_summary


@pytest.mark.parametrize("text,value,unit", [
    ("1 500 000", 1_500_000, None), ("1.500.000 FCFA", 1_500_000, "FCFA"), ("1500000f", 1_500_000, "FCFA"),
    ("25F", 25, "FCFA"), ("500 FCFA", 500, "FCFA"), ("1,5 million", 1_500_000, None), ("100k", 100_000, None),
    ("100 mille", 100_000, None), ("25mil", 25_000, None), ("2 %", 2, "%"), ("1,5 %", 1.5, "%"),
    ("1 500 000 francs CFA", 1_500_000, "FCFA"),
])
def test_amount_formats(text, value, unit):
    (m,) = find_mentions(text)
    assert (m.value, m.unit) == (value, unit)


@pytest.mark.parametrize("text", ["support 24h/24 et 7j/7", "depuis 2h", "en 3 jours", "id ET24A7K9Q2"])
def test_non_amounts_are_ignored(text):
    assert money_values(text) == []


CTX = [{"role": "user", "content": "slt c koi les frè pr 100000 de orange ver mtn stp"}]
RIGHT = [
    "Pour un transfert de 100 000 FCFA de Orange vers MTN, les frais sont de 500 FCFA. Vous payez 100 500 FCFA au total.",
    "Les frais sont de 2 % entre opérateurs différents, plafonnés à 500 FCFA.",
    "Vous pouvez envoyer de 100 FCFA minimum à 1 500 000 FCFA maximum par transaction.",
    rules_summary(DEFAULT_RULES),
    "Écrivez à notre support WhatsApp, disponible 24h/24 et 7j/7.",
    "Bonjour ! Comment puis-je vous aider ?",
]


@pytest.mark.parametrize("answer", RIGHT)
def test_right_answers_are_left_alone(answer):
    res = Guardrail().apply(answer, CTX)
    assert res.text == answer and res.interventions == [] and res.raw_violations == []


@pytest.mark.parametrize("answer,action,fixed", [
    ("Pour 100 000 FCFA de Orange vers MTN, les frais sont de 2 000 FCFA.", "fee_corrected", "500 FCFA"),
    ("Les frais sont de 1.000F et vous payez 101 000 FCFA au total.", "total_corrected", "100 500 FCFA"),
    ("Vous pouvez envoyer jusqu'à 2 000 000 FCFA par transaction.", "limit_corrected", "1 500 000 FCFA"),
    ("Le montant minimum est de 500 FCFA.", "limit_corrected", "100 FCFA"),
    ("Les frais sont plafonnés à 1 000 FCFA.", "fee_bound_corrected", "500 FCFA"),
    ("Les frais sont de 25 FCFA minimum et 1,5 million maximum.", "fee_bound_corrected", "500 FCFA"),
    ("Ici les frais sont de 3 %.", "rate_corrected", "2 %"),
])
def test_wrong_figures_are_corrected(answer, action, fixed):
    g = Guardrail()
    res = g.apply(answer, CTX)
    assert action in res.interventions
    assert fixed in res.text
    assert violations(res.text, context_from_messages(CTX)) == []
    assert g.counts[action] >= 1


@pytest.mark.parametrize("answer,kind", [
    ("Appelez notre service client au 07 12 34 56 78.", "support_contact"),
    ("Écrivez à support@easytransfert.ci.", "support_contact"),
    ("Le support est ouvert de 8h à 18h.", "support_hours"),
    ("Oui, vous pouvez aussi envoyer vers Airtel.", "unsupported_service"),
    ("Un transfert de 300 000 FCFA est possible.", "invented_figure"),
    ("Les frais sont de 2 euros.", "wrong_currency"),
])
def test_unfixable_answers_are_replaced_by_a_safe_one(answer, kind):
    res = Guardrail().apply(answer, CTX)
    assert f"replaced:{kind}" in res.interventions
    assert "WhatsApp" in res.text
    assert violations(res.text, context_from_messages(CTX)) == []


def test_unknown_fee_without_amount_is_replaced():
    ctx = [{"role": "user", "content": "c combien les frais ?"}]
    res = Guardrail().apply("Les frais sont de 300 FCFA.", ctx)
    assert res.interventions == ["replaced:wrong_fee"]
    assert "300" not in res.text and "WhatsApp" in res.text


def test_unknown_operators_allow_both_rates():
    ctx = GuardContext(amounts=(10_000,))
    assert not violations("Les frais sont de 100 FCFA.", ctx) and not violations("Les frais sont de 200 FCFA.", ctx)
    assert violations("Les frais sont de 150 FCFA.", ctx)


def test_context_parsing():
    ctx = context_from_messages([{"role": "user", "content": "frais pour 1,5 million ?"},
                                 {"role": "assistant", "content": "Quels opérateurs ?"},
                                 {"role": "user", "content": "entre deux comptes wave"}])
    assert ctx.amounts == (1_500_000,) and (ctx.src, ctx.dst) == ("wave", "wave")
    assert operators_in("de orange money vers momo puis flooz") == ["orange", "mtn", "moov"]


def test_safe_answer_is_clean():
    for ctx in (GuardContext(), GuardContext((5000,), "mtn", "wave"), GuardContext((5_000_000,), "mtn", "wave")):
        assert violations(safe_answer(ctx), ctx) == []
    assert "100 FCFA" in safe_answer(GuardContext((5000,), "mtn", "wave"))


def test_audit_roles():
    roles = {f.text: f.role for f in audit(RIGHT[0], context_from_messages(CTX))}
    assert roles == {"100 000 FCFA": "amount", "500 FCFA": "fee", "100 500 FCFA": "total"}
    # A fee word just after a figure makes it a fee; one further on in the sentence does not.
    ctx = context_from_messages([{"role": "user", "content": "transfert echoué, id AB12, 25700 de mtn vers wave"}])
    roles = {f.text: f.role for f in audit("Comptez 600 FCFA de frais.", ctx)}
    assert roles == {"600 FCFA": "fee"}
    followup = "Merci. Le transfert AB12 de 25 700 FCFA a échoué : il est remboursé automatiquement, frais compris."
    assert [(f.role, f.ok) for f in audit(followup, ctx)] == [("other", True)]
