"""The grounded path: router and slots on informal French, the facts block per intent, and the oracle."""
import pytest

from lib.assistant.conversations import TEMPLATES, ConversationGenerator, heldout_amount
from lib.assistant.evaluate import eval_items, score_answers, verdicts
from lib.assistant.facts import facts_block, facts_for, grounded_messages
from lib.assistant.oracle import expected_for, judge, read_figures
from lib.assistant.preprocess import Preprocessor
from lib.assistant.router import Route, agrees_with_record, normalise_for_routing, route
from lib.assistant.rules import DEFAULT_RULES


def U(*texts):
    """A conversation of user turns separated by a neutral assistant turn."""
    msgs = []
    for t in texts:
        msgs += [{"role": "user", "content": t}, {"role": "assistant", "content": "D'accord."}]
    return msgs[:-1]


@pytest.mark.parametrize("text,intent,amount,src,dst", [
    ("slt c koi les frè pr 1.800 de MTN a orange", "fees", 1800, "mtn", "orange"),
    ("cmb les frais pr 2k momo vers wave 🙏🙏", "fees", 2000, "mtn", "wave"),
    ("frias pour 100 000 FCFA entre deux comptes moov stp", "fees", 100_000, "moov", "moov"),
    ("ça me coûte cb pr transférer 25 mille du wave au moov africa", "fees", 25_000, "wave", "moov"),
    ("how much pour send 1,5 million orange money → trésor", "fees", 1_500_000, "orange", "tresor"),
    ("je peux envoyer 2 millions en une fois ?", "limits", 2_000_000, None, None),
    ("c quoi le plafond par envoi 🤔", "limits", None, None, None),
    ("quel est le montant minmium", "limits", None, None, None),
    ("vos frais c combien en %", "rates", None, None, None),
    ("frais entre 2 operateurs différents ?", "rates", None, None, None),
    ("mon transfert a échuoé 😭😭", "failed_transfer", None, None, None),
    ("g envoyé depuis 2h ça n'est pas arrivé", "late_transfer", None, None, None),
    ("le supppport ouvre a quelle heure", "support", None, None, None),
    ("kel est le cours du bitcoin", "out_of_scope", None, None, None),
    ("tu peux me preter de l'argent", "out_of_scope", None, None, None),
])
def test_router_reads_informal_french(text, intent, amount, src, dst):
    r = route(U(text))
    assert (r.intent, r.amount, r.src, r.dst) == (intent, amount, src, dst), r


@pytest.mark.parametrize("text,topic", [
    ("g oublié mon code secret", "pin"), ("otp pa reçu", "otp"), ("je recois pas le code sms", "otp"),
    ("je veux suprpimer mon compte merci", "delete"), ("ajouetr compte orange", "add_number"),
    ("how to cerate account", "create"), ("comment on cree un compte", "create"),
])
def test_router_account_topics(text, topic):
    assert route(U(text)) == Route("account", topic)


def test_router_follows_the_conversation():
    # The operators come in a later turn: the intent of the first turn continues, the amount is kept.
    r = route(U("combien ça coute pr envoyer 5000f", "orange vers mtn"))
    assert (r.intent, r.amount, r.src, r.dst, r.missing) == ("fees", 5000, "orange", "mtn", ())
    assert route(U("frais pour 5000 ?")).missing == ("operators",)
    r = route(U("mon transfert a échoué"))
    assert set(r.missing) == {"id", "amount", "operators"}
    r = route(U("mon transfert a échoué", "id ET12AB34CD5, 12 500 F wave vers moov merci"))
    assert (r.intent, r.amount, r.src, r.dst, r.has_txn, r.missing) == ("failed_transfer", 12_500, "wave", "moov",
                                                                         True, ())
    # "merci" after an answer closes; a first message with "merci" in it is a request.
    assert route(U("frais 5000 mtn vers orange", "ok merci 👍")).intent == "closing"
    assert route(U("tu connais un bon maquis merci")).intent == "out_of_scope"
    # A turn with neither a request nor details does not continue the earlier one.
    assert route(U("mon transfert a échoué", "id AB1234, 2k de wave vers moov", "kel temps fait il demain")).intent \
        == "out_of_scope"
    # After preprocessing (ids as tags, abbreviations expanded) the route is the same.
    pre = Preprocessor()
    raw = U("mon transfert a échoué", "ref CI240516.2119.A12484 / 3 000 F / om vers wave")
    clean = [{"role": m["role"], "content": pre.message(m["role"], m["content"])} for m in raw]
    assert route(clean) == route(raw)


def test_typo_repair_is_bounded():
    assert normalise_for_routing("Frias ÉCHUOÉ supppport") == "frais echoue support"
    assert normalise_for_routing("argent orange wave") == "argent orange wave"  # one edit from "agent": kept


def test_router_agrees_with_the_generator_on_heldout_phrasings():
    pre = Preprocessor()
    convs = ConversationGenerator(seed=11, templates="heldout").generate(400)
    bad = [(it.turn, route(it.context)) for it in eval_items([pre.conversation(c) for c in convs])
           if not agrees_with_record(route(it.context), it.turn)]
    assert not bad, bad[:3]
    # and the check itself fails on a wrong route
    turn = {"kind": "fee_answer", "intent": "fees", "amount": 5000, "src": "mtn", "dst": "orange"}
    assert agrees_with_record(Route("fees", amount=5000, src="mtn", dst="orange"), turn)
    assert not agrees_with_record(Route("fees", amount=5000, src="orange", dst="mtn"), turn)
    assert not agrees_with_record(Route("rates"), turn)


def test_facts_block_for_each_intent():
    fee = facts_block(facts_for(Route("fees", amount=1800, src="mtn", dst="orange")))
    assert "frais : 36 FCFA (2 % entre opérateurs différents)" in fee and "total payé : 1 836 FCFA" in fee
    capped = facts_block(facts_for(Route("fees", amount=1_000_000, src="wave", dst="wave")))
    assert "frais : 500 FCFA (1 % entre comptes Wave, plafond 500 FCFA)" in capped
    floor = facts_block(facts_for(Route("fees", amount=1000, src="mtn", dst="mtn")))
    assert "frais : 25 FCFA (1 % entre comptes MTN, minimum 25 FCFA)" in floor
    ask = facts_block(facts_for(Route("fees", amount=5000, missing=("operators",))))
    assert "à demander : opérateur d'envoi et opérateur de réception" in ask and "frais :" not in ask
    refused = facts_block(facts_for(Route("fees", amount=2_000_000, src="mtn", dst="moov")))
    assert "refusé : au-dessus du maximum" in refused and "maximum 1 500 000 FCFA" in refused
    assert "frais :" not in refused
    limits = facts_block(facts_for(Route("limits")))
    assert "minimum 100 FCFA, maximum 1 500 000 FCFA" in limits
    rates = facts_block(facts_for(Route("rates")))
    assert "1 % même opérateur, 2 % opérateurs différents" in rates and "minimum 25 FCFA, maximum 500 FCFA" in rates
    failed = facts_block(facts_for(Route("failed_transfer", missing=("id", "amount", "operators"))))
    assert "à demander : identifiant de la transaction, montant, opérateur" in failed and "WhatsApp" in failed
    assert "statut" not in failed  # nothing to say about a transfer before its details are known
    known = dict(amount=5000, src="mtn", dst="wave", has_txn=True)
    failed = facts_block(facts_for(Route("failed_transfer", **known)))
    assert "statut : échoué, remboursé automatiquement" in failed and "sinon : support après 24h" in failed
    late = facts_block(facts_for(Route("late_transfer", **known)))
    assert "statut : en cours de vérification" in late and "rembours" not in late
    assert "WhatsApp 24h/24, 7j/7" in facts_block(facts_for(Route("support")))
    assert "code secret oublié" in facts_block(facts_for(Route("account", "pin")))


def test_grounded_prompt_puts_the_facts_after_the_last_user_turn():
    history = U("frais pour 5000", "orange vers mtn")
    msgs, r = grounded_messages(history, "SYS", keep_turns=1)
    assert [m["role"] for m in msgs] == ["system", "user", "tool"]
    assert msgs[1]["content"] == "orange vers mtn" and "frais : 100 FCFA" in msgs[2]["content"]
    full, _ = grounded_messages(history, "SYS", with_facts=False)
    assert [m["role"] for m in full] == ["system", "user", "assistant", "user"]


def test_heldout_templates_and_amounts_are_not_in_training():
    for key, train in TEMPLATES["train"].items():
        assert not set(train) & set(TEMPLATES["heldout"][key]), key
    train = ConversationGenerator(seed=3).generate(1500)
    test = ConversationGenerator(seed=3, templates="heldout").generate(500)
    train_amounts = {c["meta"]["amount"] for c in train if c["meta"]["amount"]}
    test_amounts = {c["meta"]["amount"] for c in test if c["meta"]["amount"]}
    assert not train_amounts & test_amounts
    assert all(heldout_amount(a) for a in test_amounts if 100 <= a <= 1_500_000)
    train_users = {m["content"] for c in train for m in c["messages"] if m["role"] == "user"}
    test_users = [m["content"] for c in test for m in c["messages"] if m["role"] == "user"]
    assert sum(u in train_users for u in test_users) / len(test_users) < 0.05  # only short thanks may repeat


# ------------------------------------------------------------------------------------------------ the oracle
FEE_TURN = {"kind": "fee_answer", "intent": "fees", "amount": 1800, "src": "mtn", "dst": "orange"}


@pytest.mark.parametrize("answer", [
    "Pour 1 800 FCFA de MTN vers Orange, les frais sont de 36 FCFA (2 % entre opérateurs différents). "
    "Vous payez 1 836 FCFA au total.",
    "Les frais : 36 F. Total à payer : 1.836 F.",
    "Ça fait 36 francs de frais, soit 1836 francs en tout.",
    "frais 36 FCFA, total 1 836 FCFA",
])
def test_oracle_accepts_right_answers_in_any_format(answer):
    v = judge(answer, expected_for(FEE_TURN))
    assert v.resolved and not v.hallucinated and v.fee_stated_right


@pytest.mark.parametrize("answer,missing,wrong", [
    ("Les frais sont de 36 FCFA.", ["total"], []),  # partial: no total
    ("Les frais sont de 18 FCFA, total 1 818 FCFA.", ["fee", "total"], ["figure 18 FCFA", "figure 1 818 FCFA"]),
    ("Les frais sont de 36 FCFA (1 %), total 1 836 FCFA.", [], ["rate 1 %"]),  # right figures, wrong rate
    ("Frais 36 FCFA, total 1 836 FCFA, maximum 500 000 FCFA par jour.", [], ["figure 500 000 FCFA"]),
    ("Frais 36 FCFA, total 1 836 FCFA, soit 0,05 euro.", [], ["currency 0,05 euro"]),
    ("Frais 36 FCFA, total 1 836 FCFA. Appelez le 07 12 34 56 78.", [], ["contact 07 12 34 56 78"]),
])
def test_oracle_rejects_wrong_and_partial_answers(answer, missing, wrong):
    v = judge(answer, expected_for(FEE_TURN))
    assert not v.resolved and v.missing == missing and v.wrong == wrong


def test_oracle_other_kinds():
    ask = expected_for({"kind": "ask_details", "intent": "failed_transfer"})
    assert judge("Pouvez-vous me donner l'identifiant, le montant et les opérateurs ?", ask).resolved
    partial = judge("Pouvez-vous me donner l'identifiant de la transaction ?", ask)
    assert partial.missing == ["ask:amount", "ask:operators"] and not partial.hallucinated
    lim = expected_for({"kind": "limit_answer", "intent": "limits", "amount": 2_000_000, "reason": "above_max"})
    assert judge("Le maximum est de 1 500 000 FCFA par transaction.", lim).resolved
    assert judge("Le maximum est de 2 000 000 FCFA par transaction.", lim).missing == ["max_amount"]
    assert judge("Le maximum est 1 500 000 FCFA, le minimum 500 FCFA.", lim).wrong == ["figure 500 FCFA"]
    sup = expected_for({"kind": "support_answer", "intent": "support"})
    assert judge("Écrivez à notre support WhatsApp, 24h/24 et 7j/7.", sup).resolved
    assert judge("Écrivez à notre support WhatsApp, de 8h à 18h.", sup).wrong == ["delay 8h", "delay 18h"]
    oos = expected_for({"kind": "out_of_scope", "intent": "out_of_scope"})
    assert judge("Désolé, je ne peux pas vous aider pour cela.", oos).resolved
    assert not judge("Le match sera gagné par l'ASEC.", oos).resolved
    rates = expected_for({"kind": "rates_answer", "intent": "rates"})
    assert judge("1 % entre comptes du même opérateur, 2 % sinon, minimum 25 FCFA et maximum 500 FCFA.", rates).resolved
    assert judge("1,5 % entre opérateurs, minimum 25 FCFA et maximum 500 FCFA.", rates).hallucinated


def test_read_figures_units_and_multipliers():
    got = [(f.value, f.kind) for f in read_figures("1 836 FCFA, 1.836 F, 2k, 1,5 million, 2 %, 24h/24, 10 €, 12")]
    assert got == [(1836, "money"), (1836, "money"), (2000, "money"), (1_500_000, "money"), (2, "percent"),
                   (24, "duration"), (24, "bare"), (10, "foreign"), (12, "bare")]


def test_every_reference_answer_resolves_and_scores_need_generation_records():
    pre = Preprocessor()
    convs = [pre.conversation(c) for c in ConversationGenerator(seed=9, templates="heldout").generate(300)]
    items = eval_items(convs)
    res = score_answers(items, [it.reference for it in items], DEFAULT_RULES)
    assert res["resolution_rate"] == 1.0 and res["hallucination_rate"] == 0.0 and res["fee_accuracy"] == 1.0
    wrong = score_answers(items, ["Les frais sont de 12 345 FCFA."] * len(items), DEFAULT_RULES)
    assert wrong["resolution_rate"] == 0.0 and wrong["hallucination_rate"] == 1.0
    items[0].turn = None
    with pytest.raises(ValueError, match="generation record"):
        verdicts(items[:1], ["ok"])
