"""The rules engine as a tool: the facts of a routed request, as a short block the model phrases.

`facts_for(route)` asks `BusinessRules` (the single source of truth) for what the answer must state — the fee
quote and total, the limits, whether the amount is allowed, the rates — or what must still be asked.
`facts_block` writes them as a few `clé : valeur` lines: this is the tool result placed in the prompt (a `tool`
turn after the customer's message) at training and at answer time, so the model learns to copy given figures,
not to compute them. `grounded_messages` builds that prompt.
"""
from __future__ import annotations

from typing import Any

from lib.assistant.router import Route, route
from lib.assistant.rules import DEFAULT_RULES, BusinessRules, format_fcfa, format_rate

TOOL_ROLE = "tool"
_ASK = {"operators": "opérateur d'envoi et opérateur de réception", "amount": "montant",
        "id": "identifiant de la transaction"}
_TOPICS = {"create": "créer un compte", "pin": "code secret oublié", "otp": "code SMS non reçu",
           "add_number": "ajouter un numéro", "delete": "supprimer le compte"}


def facts_for(r: Route, rules: BusinessRules = DEFAULT_RULES) -> dict[str, Any]:
    """The facts the answer to `r` must state (plain values; `facts_block` formats them)."""
    f: dict[str, Any] = {"intention": r.intent}
    if r.topic:
        f["sujet"] = r.topic
    if r.intent in ("fees", "limits", "failed_transfer", "late_transfer") and r.amount is not None:
        f["montant"] = r.amount
        reason = rules.check_amount(r.amount)
        if reason:
            f["refus"] = reason
    if r.src and r.dst:
        f["de"], f["vers"] = r.src, r.dst
    if r.missing:
        f["demander"] = list(r.missing)
    if r.intent == "fees" and "montant" in f and "refus" not in f and not r.missing:
        q = rules.quote(r.amount, r.src, r.dst)
        f.update(taux=q.rate, frais=q.fee, total=q.total, plafond=q.capped)
    if r.intent == "limits" or "refus" in f:
        f.update(minimum=rules.min_amount, maximum=rules.max_amount)
    if r.intent == "rates":
        f.update(taux_meme=rules.same_operator_rate, taux_autre=rules.cross_operator_rate, frais_min=rules.min_fee,
                 frais_max=rules.max_fee)
    if r.intent in ("failed_transfer", "late_transfer") and not r.missing:
        f["statut"] = rules.failed_transfer_status if r.intent == "failed_transfer" else rules.late_transfer_status
        f["sinon"] = rules.support_after_hours
    if r.intent in ("support", "failed_transfer", "late_transfer") or r.topic in ("otp", "delete"):
        f["support"] = f"{rules.support_channel} {rules.support_hours}"
    return f


def facts_block(f: dict[str, Any], rules: BusinessRules = DEFAULT_RULES) -> str:
    """The facts as the tool result the model reads (French, figures formatted as the answers write them)."""
    lines = [f"intention : {f['intention']}" + (f" ({_TOPICS.get(f['sujet'], f['sujet'])})" if "sujet" in f else "")]
    if "montant" in f:
        lines.append(f"montant : {format_fcfa(f['montant'])}")
    if "de" in f:
        lines.append(f"de {rules.operator(f['de']).name} vers {rules.operator(f['vers']).name}")
    if "refus" in f:
        lines.append("refusé : " + ("au-dessus du maximum" if f["refus"] == "above_max" else "en dessous du minimum"))
    if "frais" in f:
        kind = (f"entre comptes {rules.operator(f['de']).name}" if f["de"] == f["vers"] else "entre opérateurs différents")
        bound = {"min": f", minimum {format_fcfa(rules.min_fee)}", "max": f", plafond {format_fcfa(rules.max_fee)}"}
        lines.append(f"frais : {format_fcfa(f['frais'])} ({format_rate(f['taux'])} {kind}"
                     f"{bound.get(f['plafond'], '')})")
        lines.append(f"total payé : {format_fcfa(f['total'])}")
    if "minimum" in f:
        lines.append(f"par transaction : minimum {format_fcfa(f['minimum'])}, maximum {format_fcfa(f['maximum'])}")
    if "taux_meme" in f:
        lines.append(f"taux : {format_rate(f['taux_meme'])} même opérateur, {format_rate(f['taux_autre'])} "
                     f"opérateurs différents ; frais minimum {format_fcfa(f['frais_min'])}, maximum "
                     f"{format_fcfa(f['frais_max'])}")
    if "demander" in f:
        lines.append("à demander : " + ", ".join(_ASK[k] for k in f["demander"]))
    if "statut" in f:
        lines.append(f"statut : {f['statut']}")
        lines.append(f"sinon : support après {f['sinon']}h")
    if "support" in f:
        lines.append(f"support : {f['support']}")
    return "\n".join(lines)


def grounded_messages(history: list[dict[str, str]], system: str, rules: BusinessRules = DEFAULT_RULES,
                      with_facts: bool = True, keep_turns: int = 0) -> tuple[list[dict[str, str]], Route]:
    """System prompt + conversation (+ the rules tool's result after the last user turn) and the route.

    The router reads the whole conversation; the prompt keeps its last `keep_turns` messages (0: all). With the
    facts block, the last user message is enough (the block carries the amount and operators given earlier),
    and every token saved is time on a CPU.
    """
    r = route(history, rules)
    turns = [m for m in history if m["role"] in ("user", "assistant")]
    if keep_turns:
        turns = turns[-keep_turns:]
    msgs = [{"role": "system", "content": system}] + turns
    if with_facts:
        msgs.append({"role": TOOL_ROLE, "content": facts_block(facts_for(r, rules), rules)})
    return msgs, r
