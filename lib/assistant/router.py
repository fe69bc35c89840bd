"""Read a support conversation: what the customer wants (intent) and the details given so far (slots).

The router is rules, not a model: its patterns are data (`INTENT_PATTERNS`), applied to the user turns folded to
lower case without accents, raw or after `Preprocessor` (abbreviations expanded, ids replaced by tags).
Slots come from the parsers the guardrails already use (`money_values`, `operators_in`, `context_from_messages`).

- Typos in keywords ("frias", "échuoé", "minmium", "supppport") are repaired first: a word within one edit
  (Damerau–Levenshtein, rapidfuzz) of a keyword becomes that keyword; letter floods are collapsed.
- The intent is the first pattern that matches the latest user turn; a turn that matches none but gives details
  ("mtn vers orange", "id ET12..., 5000") continues the intent of the turn before it; one that gives none either
  ("kel temps fait il demain") is out of scope.
- A fee question without an amount is a question about the rates; with an amount, about one transfer.
- `missing` lists what must still be asked before the facts can be given (operators for a fee; id, amount and
  operators for a failed or late transfer).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lib.assistant.guardrails import context_from_messages, operators_in
from lib.assistant.preprocess import ID_TAG, TRANSACTION_ID_RE
from lib.assistant.rules import DEFAULT_RULES, BusinessRules, _fold

ROUTER_INTENTS = ("fees", "limits", "rates", "failed_transfer", "late_transfer", "account", "support", "closing",
                  "out_of_scope")

# (intent or "account:<topic>", pattern on folded text); the order is the priority.
INTENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("account:delete", r"supprim|fermer (?:mon|le) compte|plus de mon compte"),
    ("account:otp", r"code (?:sms|de validation|de confirmation)|sms de confirmation|\botp\b|recois pas le code|"
                    r"(?:jamais|pas) recu (?:le|mon) code|code (?:n'arrive|arrive) pas"),
    ("account:pin", r"code secret|mot de passe|code pin|changer mon code|mon code (?:ne marche|bloque)"),
    ("account:add_number", r"ajouter|rajouter|\blier\b"),
    ("account:create", r"cree|creer|ouvrir un compte|inscri|create (?:an )?account|un compte easytransfert"),
    ("limits", r"\bmax\b|maximum|\bmin\b|minimum|\bmini\b|limite|plafond|en une fois|d'un coup|par jour|"
               r"jusqu'?a combien|max transfer"),
    ("rates", r"pourcentage|pour ?cent|%|calcul"),
    ("failed_transfer", r"echou|echec|pas marche|na pas marche|\brate\b|pas passe|bloque|erreur|debite"),
    ("late_transfer", r"pas (?:encore )?arrive|en attente|en cours|rien recu|attend(?:s)? toujours|"
                      r"toujours rien|n'est pas arrive|pas recu l'argent"),
    ("fees", r"frais|\bfre\b|commission|tarif|co[u]te?|combien|how much|\bpaie|payer"),
    ("support", r"support|service client|\bagent\b|joindre|joignable|dispo|parler a|contact"),
    # Thanks count as a closing only after an answer (a first message with "merci" is a request).
    ("closing", r"\b(?:ok|okay|merci|mrc|thanks|thx|d'accord|parfait|super|compris|je vois)\b"),
)
_COMPILED = tuple((name, re.compile(rx)) for name, rx in INTENT_PATTERNS)
# Words of the patterns that users misspell; a word one edit away from one of them is read as it.
KEYWORDS = ("frais", "commission", "tarif", "combien", "coute", "payer", "maximum", "minimum", "limite", "plafond",
            "pourcentage", "calcul", "calculez", "echoue", "echouee", "echec", "marche", "passe", "bloque", "erreur",
            "debite", "arrive", "attente", "recu", "attend", "toujours", "support", "service", "client", "agent",
            "joindre", "joignable", "joignables", "dispo", "parler", "contact", "merci", "parfait", "super",
            "compris", "supprimer", "fermer", "compte", "secret", "confirmation", "validation", "ajouter", "rajouter",
            "creer", "inscrire", "transfert", "transferer", "heure", "montant", "pendant", "destinataire", "create",
            "changer", "thanks", "cours", "jamais", "argent", "envoi", "account")
_KEYWORD_SET = frozenset(KEYWORDS)


def _repair(word: str) -> str:
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    if len(word) < 4 or word in _KEYWORD_SET or not word.isalpha():
        return word
    hit = process.extractOne(word, KEYWORDS, scorer=DamerauLevenshtein.distance, score_cutoff=1)
    return hit[0] if hit else word


def normalise_for_routing(text: str) -> str:
    """Folded text (lower case, no accents) with letter floods collapsed and misspelt keywords repaired."""
    folded = re.sub(r"([a-z])\1{2,}", r"\1", _fold(text))
    return re.sub(r"[a-z]+", lambda m: _repair(m.group(0)), folded)


@dataclass(frozen=True)
class Route:
    """The intent of the latest request and the details known so far."""

    intent: str
    topic: str | None = None  # account topic: create, pin, otp, add_number, delete
    amount: int | None = None
    src: str | None = None
    dst: str | None = None
    has_txn: bool = False
    missing: tuple[str, ...] = field(default=())


def _match(text: str, rules: BusinessRules = DEFAULT_RULES) -> tuple[str, str | None] | None:
    folded = normalise_for_routing(text)
    for name, rx in _COMPILED:
        if name == "closing" and (_has_amount(text) or operators_in(text, rules) or ID_TAG in text):
            continue  # "orange vers mtn merci" gives details, it does not close the conversation
        if rx.search(folded):
            intent, _, topic = name.partition(":")
            return intent, topic or None
    return None


def _has_amount(text: str) -> bool:
    from lib.assistant.amounts import money_values

    return bool(money_values(text))


def _has_txn(text: str) -> bool:
    """Whether a text gives a transaction id (its tag after preprocessing, an id's shape, or "id"/"ref" + digits)."""
    return ID_TAG in text or bool(TRANSACTION_ID_RE.search(text)) or bool(re.search(r"\b(?:id|ref)\s*[:#]?\s*\w*\d",
                                                                                     text, re.I))


def _gives_details(text: str, rules: BusinessRules = DEFAULT_RULES) -> bool:
    """Whether a turn carries an amount, an operator or a transaction id (an answer to "which operators?")."""
    return _has_amount(text) or bool(operators_in(text, rules)) or _has_txn(text)


def route(messages: list[dict[str, str]], rules: BusinessRules = DEFAULT_RULES) -> Route:
    """The route of the next assistant turn given the conversation so far (user and assistant turns)."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    if not users:
        return Route("out_of_scope")
    if _match(users[-1], rules) is None and not _gives_details(users[-1], rules):
        # Neither a request nor details for the previous one ("kel temps fait il demain" after a transfer
        # question): out of scope, not a continuation of the earlier intent.
        return Route("out_of_scope")
    found = None
    start = len(users) - 1
    for k in range(len(users) - 1, -1, -1):  # the latest user turn that says what it wants
        hit = _match(users[k], rules)
        if hit and hit[0] == "closing" and (k < len(users) - 1 or k == 0):
            continue
        if hit:
            found, start = hit, k
            break
    if found is None:
        return Route("out_of_scope")
    intent, topic = found
    if intent == "fees" and not any(_has_amount(u) for u in users[start:]):
        intent = "rates"  # "vos frais c'est combien ?" asks for the rule, not for one transfer
    if intent in ("closing", "account", "support", "rates", "out_of_scope"):
        return Route(intent, topic)
    ctx = context_from_messages([{"role": "user", "content": u} for u in users[start:]], rules)
    amount = ctx.amounts[-1] if ctx.amounts else None
    src, dst = ctx.src, ctx.dst
    if src and dst is None and intent in ("fees",):
        src = None  # one operator named: which one is the destination is not known yet
    later = "\n".join(users[start:])
    has_txn = _has_txn(later)
    missing: list[str] = []
    if intent == "fees":
        if amount is None:
            missing.append("amount")
        elif rules.check_amount(amount) is None and not (src and dst):
            missing.append("operators")
    elif intent in ("failed_transfer", "late_transfer"):
        if not has_txn:
            missing.append("id")
        if amount is None:
            missing.append("amount")
        if not (src and dst):
            missing.append("operators")
    return Route(intent, topic, amount, src, dst, has_txn, tuple(missing))


# The intent each kind of generated assistant turn answers (the others answer their conversation's intent).
KIND_INTENT = {"fee_answer": "fees", "ask_operators": "fees", "account_answer": "account", "support_answer": "support",
               "rates_answer": "rates", "out_of_scope": "out_of_scope", "closing": "closing"}


def agrees_with_record(r: Route, turn: dict) -> bool:
    """Whether a route matches a generated turn's record (`meta["turns"][k]`): intent, slots and what to ask."""
    if turn["kind"] == "limit_answer":  # "2 millions en une fois ?" may be read as a fee or a limits question
        return r.intent in ("limits", "fees") and r.amount == turn.get("amount")
    ok = r.intent == KIND_INTENT.get(turn["kind"], turn["intent"])
    if turn["kind"] in ("fee_answer", "transfer_followup"):
        ok = ok and (r.amount, r.src, r.dst) == (turn["amount"], turn["src"], turn["dst"]) and not r.missing
    if turn["kind"] == "ask_details":
        ok = ok and set(r.missing) == {"id", "amount", "operators"}
    if turn["kind"] == "ask_operators":
        ok = ok and r.missing == ("operators",)
    if turn["kind"] == "account_answer":
        ok = ok and r.topic == turn.get("topic")
    return ok
