"""Synthetic EasyTransfert support conversations (deterministic from a seed), JSONL I/O and the 80/15/5 split.

Each record: {"id", "messages": [{"role": "user"|"assistant", "content"}...], "meta": {...}} where `meta` holds
the intent, the amount and operators (ground truth for the evaluation) and, per assistant turn, what that
turn must do (`turn_kinds`: "fee_answer", "ask_details", ...). User turns are informal French (SMS
abbreviations, typos, emojis, some English and Nouchi); every figure in an answer comes from `BusinessRules`.
The same JSONL from real logs loads with `load_jsonl` (`meta` optional), which counts and reports bad lines.

`meta["turns"]` holds, per assistant turn, what was known when it was written (amount, operators, whether the
amount is out of range, the account topic): the evaluation oracle derives the expected facts from it, never from
the text. `ConversationGenerator(templates="heldout")` writes the test conversations with paraphrases and amounts
that the "train" templates never use, so a model cannot pass the test by recalling training strings.
"""
from __future__ import annotations

import json
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from lib.assistant.preprocess import FIRST_NAMES, LAST_NAMES
from lib.assistant.rules import DEFAULT_RULES, BusinessRules, format_fcfa, format_rate

INTENTS = ("fees", "limits", "failed_transfer", "late_transfer", "account", "support", "rates", "out_of_scope")
INTENT_WEIGHTS = (0.30, 0.10, 0.15, 0.10, 0.14, 0.06, 0.05, 0.10)
ROLES = ("system", "user", "assistant")

# ---------------------------------------------------------------------------------------------- user style
GREETINGS = ["slt", "bjr", "bonjour", "bsr", "salut", "cc", "hello", "on dit koi", "yo", "bonsoir", ""]
POLITE = ["stp", "svp", "please", "s'il vous plaît", "merci", "mrc", "🙏", "", ""]
EMOJIS = ["🙏", "😅", "😡", "🤔", "👍", "💸", "😭", "🙄", "😊", ""]
NOUCHI = ["mon vieux", "dêh", "on dit quoi", "ya fohi", "c gâté", "yako", "tu connais", "mon frère", "ma sœur"]
TYPO_SWAPS = {"é": "e", "è": "e", "ê": "e", "à": "a", "ç": "c", "ô": "o"}


def _amount_text(rng: random.Random, amount: int) -> str:
    """One of the ways users write an amount."""
    forms = [str(amount), format_fcfa(amount, unit=""), f"{amount}f", f"{amount} F", f"{format_fcfa(amount)}",
             f"{amount}fcfa", format_fcfa(amount, unit="").replace(" ", ".")]
    if amount < 100:  # a bare "90" reads as a count, not money: small amounts come with their unit
        forms = [f"{amount}f", f"{amount} F", f"{amount} FCFA", f"{amount}fcfa"]
    if amount % 1000 == 0 and amount < 1_000_000:
        forms += [f"{amount // 1000}k", f"{amount // 1000} mille", f"{amount // 1000}mil"]
    if amount % 100_000 == 0 and amount >= 1_000_000:
        m = amount / 1_000_000
        forms += [f"{m:g} million".replace(".", ",") + ("s" if m >= 2 else ""), f"{m:g}M".replace(".", ",")]
    return rng.choice(forms)


def _op_text(rng: random.Random, rules: BusinessRules, key: str) -> str:
    op = rules.operator(key)
    return rng.choice([op.key, op.name, *op.aliases]).lower() if rng.random() < 0.8 else op.name


def _txn_id(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return "ET" + "".join(rng.choice("0123456789") for _ in range(2)) + "".join(
            rng.choice(string.ascii_uppercase + string.digits) for _ in range(6)) + str(rng.randint(0, 9))
    day = f"{rng.randint(23, 25)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    return f"{rng.choice(['CI', 'MP', 'OM'])}{day}.{rng.randint(1000, 2359)}.{rng.choice('ABCDEFGH')}{rng.randint(10000, 99999)}"


def _phone(rng: random.Random) -> str:
    digits = rng.choice(["07", "05", "01"]) + "".join(rng.choice("0123456789") for _ in range(8))
    style = rng.random()
    if style < 0.4:
        return digits
    if style < 0.7:
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    return "+225 " + digits


def _noisy(rng: random.Random, text: str, level: float) -> str:
    """Informal style: lower case, dropped accents, letter swaps, doubled letters."""
    if rng.random() < 0.7:
        text = text.lower()
    out = []
    for word in text.split(" "):
        if rng.random() < level * 0.5:
            word = "".join(TYPO_SWAPS.get(c, c) for c in word)
        if len(word) > 4 and word.isalpha() and rng.random() < level * 0.15:
            i = rng.randrange(1, len(word) - 2)
            word = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if len(word) > 3 and word.isalpha() and rng.random() < level * 0.05:
            i = rng.randrange(len(word))
            word = word[:i] + word[i] * 3 + word[i + 1:]
        out.append(word)
    return " ".join(out)


def _user(rng: random.Random, core: str, level: float = 0.5, **slots: str) -> str:
    """Dress a request with a greeting, politeness, emojis and sometimes Nouchi/English.

    Slots ({a} amount, {p} operators, {t} transaction id; lower case because the noise lowers case) are filled after the typos: the facts stay exact.
    """
    parts = []
    if rng.random() < 0.6:
        parts.append(rng.choice(GREETINGS))
    if rng.random() < 0.12:
        parts.append(rng.choice(NOUCHI))
    parts.append(_noisy(rng, core, level).format(**slots))
    if rng.random() < 0.5:
        parts.append(rng.choice(POLITE))
    if rng.random() < 0.35:
        parts.append(rng.choice(EMOJIS) * rng.choice([1, 1, 2, 3]))
    return " ".join(p for p in parts if p).strip()


# ---------------------------------------------------------------------------------------------- answers
SUPPORT = "notre support WhatsApp, disponible 24h/24 et 7j/7"
ASK_DETAILS = [
    "Désolé pour ce désagrément 🙏. Pour vérifier, pouvez-vous me donner l'identifiant de la transaction, le montant "
    "et les opérateurs d'envoi et de réception ?",
    "Je comprends, on va regarder ça. Merci de m'indiquer l'identifiant de la transaction, le montant envoyé, "
    "l'opérateur d'envoi et l'opérateur de réception.",
    "Pas de souci, je vérifie. J'ai besoin de l'identifiant de la transaction, du montant et des deux opérateurs "
    "(envoi et réception).",
]


def _fee_answer(rules: BusinessRules, amount: int, src: str, dst: str, rng: random.Random) -> str:
    q = rules.quote(amount, src, dst)
    s, d = rules.operator(src).name, rules.operator(dst).name
    why = (f"{format_rate(q.rate)} {'entre comptes ' + s if q.same_operator else 'entre opérateurs différents'}"
           + (f", avec un minimum de {format_fcfa(rules.min_fee)}" if q.capped == "min" else "")
           + (f", plafonnés à {format_fcfa(rules.max_fee)}" if q.capped == "max" else ""))
    opening = rng.choice(["", "Bonjour ! ", "Bien sûr. ", "Avec plaisir. "])
    return (f"{opening}Pour {format_fcfa(q.amount)} de {s} vers {d}, les frais sont de {format_fcfa(q.fee)} ({why}). "
            f"Vous payez {format_fcfa(q.total)} au total.")


def _out_of_range_answer(rules: BusinessRules, reason: str) -> str:
    if reason == "above_max":
        return (f"Désolé, ce montant dépasse la limite : le maximum est de {format_fcfa(rules.max_amount)} par "
                f"transaction. Vous pouvez faire plusieurs transferts successifs.")
    return f"Désolé, ce montant est trop faible : le minimum est de {format_fcfa(rules.min_amount)} par transaction."


def _limits_answer(rules: BusinessRules) -> str:
    return (f"Vous pouvez envoyer de {format_fcfa(rules.min_amount)} minimum à {format_fcfa(rules.max_amount)} "
            f"maximum par transaction, quel que soit l'opérateur ({', '.join(rules.operator_names)}).")


def _rates_answer(rules: BusinessRules) -> str:
    return (f"Les frais sont de {format_rate(rules.same_operator_rate)} entre comptes du même opérateur et de "
            f"{format_rate(rules.cross_operator_rate)} entre opérateurs différents, avec un minimum de "
            f"{format_fcfa(rules.min_fee)} et un maximum de {format_fcfa(rules.max_fee)} par transfert, payés par "
            f"l'expéditeur.")


ACCOUNT_ANSWERS = {
    "create": "Pour créer un compte, téléchargez l'application EasyTransfert, entrez votre numéro de téléphone, "
              "validez le code reçu par SMS puis choisissez votre code secret.",
    "pin": "Pas d'inquiétude : dans l'application, touchez « Code secret oublié », vérifiez votre identité avec le "
           "code reçu par SMS et choisissez un nouveau code. Ne partagez jamais votre code secret.",
    "otp": "Vérifiez que votre numéro est correct et que vous avez du réseau, puis touchez « Renvoyer le code ». "
           f"Si le code n'arrive toujours pas, écrivez à {SUPPORT}.",
    "add_number": "Dans l'application, ouvrez « Mes comptes » puis « Ajouter un compte », choisissez l'opérateur et "
                  "validez avec le code reçu par SMS.",
    "delete": f"Pour supprimer votre compte, écrivez à {SUPPORT} depuis le numéro du compte ; la demande est "
              "traitée après vérification de votre identité.",
}
OOS_ANSWER = ("Désolé, je ne peux vous aider que pour vos transferts EasyTransfert (frais, limites, suivi) et votre "
              "compte.")

# User phrasings. "train" writes the training and validation conversations; "heldout" (other wordings, other
# operator phrasings) writes the test conversations only. Slots: {a} amount, {p} operators, {t} transaction id.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "train": {
        "fee": ["je vx savoir c koi les frè pr {a} {p}", "cmb les frais pr {a} {p}",
                "si j'envoie {a} {p} ça fait combien de frais", "frais {a} {p} ?", "jveux envoyer {a} {p}, c combien"],
        "fee_no_pair": ["c koi les frè pr {a}", "combien ça coute pr envoyer {a}", "frais pour {a} ?",
                        "how much pour send {a}"],
        "pair": ["de {s} vers {d}", "de {s} ver {d}", "{s} vers {d}", "{s} to {d}", "depuis {s} sur {d}",
                 "de {s} a {d}", "{s} → {d}"],
        "pair_same": ["entre deux comptes {s}"],
        "thanks": ["ok mrc", "merci bcp", "d'accord merci 👍", "ok c compris", "thanks"],
        "limits": ["c combien le max kon peut envoyer", "quel est le montant minimum", "limite de transfert ?",
                   "what is the max transfer", "cmb on peut envoyer par jour"],
        "limits_amount": ["je peux envoyer {a} en une fois ?"],
        "failed": ["mon transfert a échoué", "le transfert na pas marché", "transaction echouée mais on m'a débité",
                   "c gâté, mon transfert a raté"],
        "late": ["g envoyé depuis 2h ça n'est pas arrivé", "mon transfert est en attente depuis ce matin",
                 "le destinataire a tjr rien reçu", "l'argent n'est pas arrivé depuis hier"],
        "details": ["id {t}, {a} {p}", "c'est {t} montant {a} {p}", "ref {t} / {a} / {p}"],
        "details_inline": [", id {t}, {a} {p}"],
        "account_create": ["comment on cree un compte", "jveux ouvrir un compte easytransfert", "how to create account",
                           "c comment pr s'inscrire"],
        "account_pin": ["g oublié mon code secret", "jai oublié mon mot de passe", "mon code pin ne marche plus",
                        "comment changer mon code"],
        "account_otp": ["je recois pas le code sms", "le code de validation n'arrive pas", "otp pa reçu"],
        "account_add_number": ["comment ajouter mon numero wave", "je veux ajouter un autre numero",
                               "ajouter compte orange"],
        "account_delete": ["je veux supprimer mon compte", "comment fermer mon compte"],
        "support": ["vs etes dispo quand", "comment joindre le service client", "je veux parler a un agent",
                    "le support ouvre a quelle heure", "how to contact support"],
        "rates": ["c koi le pourcentage des frais", "vos frais c combien en %", "les frais sont calculés comment",
                  "frais entre 2 operateurs différents ?"],
        "out_of_scope": ["ki va gagner le match ce soir", "tu peux me preter de l'argent",
                         "c koi la meteo demain a abidjan", "tu connais un bon maquis", "aide moi a faire mes devoirs",
                         "kel est le cours du bitcoin", "tu peux recharger mon credit de com",
                         "donne moi un bon plan pour gagner wari"],
    },
    "heldout": {
        "fee": ["slt combien je paie si j'envoie {a} {p}", "ça me coûte cb pr transférer {a} {p}",
                "quel est le tarif pour {a} {p}", "je dois payer combien de frais pour {a} {p}",
                "c'est combien la commission sur {a} {p}"],
        "fee_no_pair": ["combien de frais sur {a}", "je veux transférer {a}, ça fait cmb de frais", "tarif pr {a} ?"],
        "pair": ["du {s} au {d}", "de mon {s} vers un {d}", "{s} pour {d}", "de {s} jusqu'à {d}", "{s} > {d}"],
        "pair_same": ["sur le même réseau {s}", "de mon {s} à un autre {s}"],
        "thanks": ["super merci", "ok je vois, merci", "parfait 👍", "merci beaucoup"],
        "limits": ["jusqu'à combien je peux transférer", "c quoi le plafond par envoi", "montant mini pour un transfert ?",
                   "y a une limite sur les envois ?"],
        "limits_amount": ["on peut envoyer {a} d'un coup ?"],
        "failed": ["mon envoi n'est pas passé", "transfert bloqué et j'ai été débité", "erreur pendant le transfert"],
        "late": ["toujours rien reçu après 3h", "le transfert est en cours depuis longtemps",
                 "mon destinataire attend toujours l'argent"],
        "details": ["voici l'id {t}, j'ai envoyé {a} {p}", "{t} | {a} | {p}"],
        "details_inline": [", la ref c'est {t}, {a} {p}"],
        "account_create": ["comment m'inscrire sur l'appli", "je veux un compte easytransfert, je fais comment"],
        "account_pin": ["je me souviens plus de mon code secret", "code secret perdu"],
        "account_otp": ["le sms de confirmation arrive pas", "j'ai jamais reçu le code"],
        "account_add_number": ["je veux lier mon compte moov", "rajouter un numéro dans l'appli"],
        "account_delete": ["supprimer mon compte easytransfert svp", "je veux plus de mon compte, supprimez le"],
        "support": ["vous êtes joignables à quelle heure", "je veux parler à quelqu'un du service client"],
        "rates": ["vous prenez combien de pourcentage", "comment vous calculez les frais"],
        "out_of_scope": ["tu peux me conseiller un film", "c'est quoi le prix du riz", "tu sais cuisiner l'attiéké"],
    },
}
SMALL_AMOUNTS = {"train": (50, 75, 90), "heldout": (60, 80, 95)}


def heldout_amount(amount: int) -> bool:
    """Whether an amount belongs to the held-out values (test only): hundreds ≡ 3 (mod 7)."""
    return (amount // 100) % 7 == 3


@dataclass
class ConversationGenerator:
    """Deterministic generator of support conversations consistent with `rules`.

    `templates="train"` (training/validation) or `"heldout"` (test: other paraphrases and amounts).
    """

    rules: BusinessRules = DEFAULT_RULES
    seed: int = 0
    noise: float = 0.5
    templates: str = "train"

    def __post_init__(self) -> None:
        if self.templates not in TEMPLATES:
            raise ValueError(f"templates must be one of {sorted(TEMPLATES)}, got {self.templates!r}")
        self._t = TEMPLATES[self.templates]

    def _amount(self, rng: random.Random, allow_out_of_range: bool = True) -> int:
        heldout = self.templates == "heldout"
        r = rng.random()
        if allow_out_of_range and r < 0.06:
            if rng.random() < 0.5:
                return rng.choice(SMALL_AMOUNTS[self.templates])
            while True:
                big = rng.randrange(1_600_000, 5_000_001, 100_000)
                if heldout_amount(big) == heldout:
                    return big
        if r < 0.15 and not heldout:  # boundaries and round values people actually send
            return rng.choice([a for a in (100, 500, 1000, 2500, 25_000, 50_000, 1_500_000) if not heldout_amount(a)])
        while True:
            scale = rng.choice([1_000, 5_000, 10_000, 50_000, 100_000, 500_000])
            step = 100 if scale <= 10_000 else 1_000 if scale <= 100_000 else 50_000
            amount = max(self.rules.min_amount, min(self.rules.max_amount, rng.randrange(step, scale * 3 + 1, step)))
            if heldout_amount(amount) == heldout:
                return amount

    def _pair(self, rng: random.Random) -> tuple[str, str]:
        keys = [op.key for op in self.rules.operators]
        src = rng.choice(keys)
        return src, (src if rng.random() < 0.3 else rng.choice([k for k in keys if k != src]))

    def _pair_text(self, rng: random.Random, src: str, dst: str) -> str:
        s, d = _op_text(rng, self.rules, src), _op_text(rng, self.rules, dst)
        if src == dst and rng.random() < 0.4:
            return rng.choice(self._t["pair_same"]).format(s=s)
        return rng.choice(self._t["pair"]).format(s=s, d=d)

    def conversation(self, index: int) -> dict[str, Any]:
        """Conversation number `index` (the same for a given seed, whatever else is generated)."""
        rng = random.Random(f"{self.seed}-{index}" if self.templates == "train" else f"{self.seed}-{self.templates}-{index}")
        t = self._t
        intent = rng.choices(INTENTS, weights=INTENT_WEIGHTS)[0]
        msgs: list[dict[str, str]] = []
        kinds: list[str] = []
        turns: list[dict[str, Any]] = []
        meta: dict[str, Any] = {"intent": intent, "amount": None, "src": None, "dst": None}

        def user(core: str, **slots: str) -> None:
            msgs.append({"role": "user", "content": _user(rng, core, self.noise, **slots)})

        def bot(text: str, kind: str, **known: Any) -> None:
            msgs.append({"role": "assistant", "content": text})
            kinds.append(kind)
            turns.append({"kind": kind, "intent": intent, "amount": None, "src": None, "dst": None, **known})

        if intent == "fees":
            amount, (src, dst) = self._amount(rng), self._pair(rng)
            meta.update(amount=amount, src=src, dst=dst)
            a = _amount_text(rng, amount)
            if rng.random() < 0.25 and self.rules.check_amount(amount) is None:  # operators missing: ask, then answer
                user(rng.choice(t["fee_no_pair"]), a=a)
                bot("Pour vous donner les frais exacts, de quel opérateur envoyez-vous et vers quel opérateur ?",
                    "ask_operators", amount=amount)
                user("{p}", p=self._pair_text(rng, src, dst))
            else:
                user(rng.choice(t["fee"]), a=a, p=self._pair_text(rng, src, dst))
            reason = self.rules.check_amount(amount)
            if reason:
                bot(_out_of_range_answer(self.rules, reason), "limit_answer", amount=amount, src=src, dst=dst,
                    reason=reason)
            else:
                bot(_fee_answer(self.rules, amount, src, dst, rng), "fee_answer", amount=amount, src=src, dst=dst)
            if rng.random() < 0.3:
                user(rng.choice(t["thanks"]))
                bot(rng.choice(["Avec plaisir ! Bonne journée 😊", "Je vous en prie, à bientôt sur EasyTransfert !"]),
                    "closing")
        elif intent == "limits":
            if rng.random() < 0.2:  # "can I send 2 million at once?": above the maximum
                amount = rng.choice([2_000_000, 3_000_000]) if self.templates == "train" else rng.choice([2_500_000, 3_200_000])
                meta["amount"] = amount
                user(rng.choice(t["limits_amount"]), a=_amount_text(rng, amount))
                bot(_out_of_range_answer(self.rules, "above_max"), "limit_answer", amount=amount, reason="above_max")
            else:
                user(rng.choice(t["limits"]))
                bot(_limits_answer(self.rules), "limit_answer")
        elif intent in ("failed_transfer", "late_transfer"):
            amount, (src, dst) = self._amount(rng, allow_out_of_range=False), self._pair(rng)
            meta.update(amount=amount, src=src, dst=dst)
            txn = _txn_id(rng)
            problem = t["failed"] if intent == "failed_transfer" else t["late"]
            a, pair = _amount_text(rng, amount), self._pair_text(rng, src, dst)
            if rng.random() < 0.2:  # details given at once: no need to ask
                user(rng.choice(problem) + rng.choice(t["details_inline"]), t=txn, a=a, p=pair)
            else:
                user(rng.choice(problem))
                bot(rng.choice(ASK_DETAILS), "ask_details")
                user(rng.choice(t["details"]), t=txn, a=a, p=pair)
            name = rng.choice(FIRST_NAMES) + " " + rng.choice(LAST_NAMES)
            if rng.random() < 0.25:
                msgs[-1]["content"] += rng.choice([f", je m'appelle {name}", f", numéro {_phone(rng)}"])
            # Short answers: a chat on a phone, and every token costs generation time on a CPU (an answer of
            # ~60 tokens is ~2.5 s on 2 cores). The status comes from the rules, as in the facts block.
            if intent == "failed_transfer":
                text = (f"Merci. Le transfert {txn} de {format_fcfa(amount)} a échoué : il est remboursé "
                        f"automatiquement, frais compris. Sinon, sous {self.rules.support_after_hours}h, écrivez à "
                        f"notre support {self.rules.support_channel} ({self.rules.support_hours}).")
            else:
                text = (f"Merci. Le transfert {txn} de {format_fcfa(amount)} est en cours de vérification, la plupart "
                        f"arrivent en quelques minutes. Sinon, sous {self.rules.support_after_hours}h, écrivez à notre "
                        f"support {self.rules.support_channel} ({self.rules.support_hours}).")
            bot(text, "transfer_followup", amount=amount, src=src, dst=dst)
        elif intent == "account":
            key = rng.choice(sorted(ACCOUNT_ANSWERS))
            meta["topic"] = key
            user(rng.choice(t[f"account_{key}"]))
            bot(ACCOUNT_ANSWERS[key], "account_answer", topic=key)
        elif intent == "support":
            user(rng.choice(t["support"]))
            bot(f"Vous pouvez écrire à {SUPPORT}, depuis la rubrique Aide de l'application.", "support_answer")
        elif intent == "rates":
            user(rng.choice(t["rates"]))
            bot(_rates_answer(self.rules), "rates_answer")
        else:
            user(rng.choice(t["out_of_scope"]))
            bot(OOS_ANSWER, "out_of_scope")
        meta["turn_kinds"] = kinds
        meta["turns"] = turns
        meta["templates"] = self.templates
        return {"id": f"conv-{self.seed}-{self.templates[0]}{index:05d}", "messages": msgs, "meta": meta}

    def generate(self, n: int) -> list[dict[str, Any]]:
        """`n` conversations (deterministic)."""
        return [self.conversation(i) for i in range(n)]


# ---------------------------------------------------------------------------------------------- JSONL I/O
@dataclass
class LoadReport:
    """How a JSONL file loaded: kept records, bad lines by reason, with line numbers."""

    path: str
    n_lines: int = 0
    n_ok: int = 0
    bad: Counter = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def n_bad(self) -> int:
        return sum(self.bad.values())

    def summary(self) -> str:
        """One line for the report."""
        reasons = ", ".join(f"{k}: {v}" for k, v in self.bad.most_common()) or "none"
        return f"{self.path}: {self.n_lines} lines, {self.n_ok} conversations kept, {self.n_bad} bad ({reasons})"


def validate_record(rec: Any) -> str | None:
    """None when `rec` is a usable conversation, else the reason it is not."""
    if not isinstance(rec, dict):
        return "not_an_object"
    msgs = rec.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "no_messages"
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return "bad_role"
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            return "empty_content"
    roles = [m["role"] for m in msgs]
    if "user" not in roles:
        return "no_user_turn"
    if "assistant" not in roles:
        return "no_assistant_turn"
    return None


def load_jsonl(path: str | Path, strict: bool = False) -> tuple[list[dict[str, Any]], LoadReport]:
    """Read chat-format JSONL (synthetic or real logs); bad lines are counted by reason, never silently dropped.

    Raises:
        ValueError: `strict=True` and a line is bad; or no usable conversation at all.
    """
    path = Path(path)
    report = LoadReport(str(path))
    records = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            report.n_lines += 1
            try:
                rec = json.loads(line)
                reason = validate_record(rec)
            except json.JSONDecodeError:
                reason = "invalid_json"
            if reason:
                report.bad[reason] += 1
                report.bad_lines.append((lineno, reason))
                if strict:
                    raise ValueError(f"{path}:{lineno}: {reason}")
                continue
            rec.setdefault("id", f"{path.stem}-{lineno}")
            rec.setdefault("meta", {})
            records.append(rec)
            report.n_ok += 1
    if not records:
        raise ValueError(f"no usable conversation in {path} ({report.summary()})")
    return records, report


def save_jsonl(records: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write one JSON object per line (UTF-8, emojis kept)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def split_conversations(records: list[dict[str, Any]], fractions: dict[str, float] | None = None,
                        seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Shuffle (seeded) and split by conversation: train/validation/test = 80/15/5 by default."""
    fractions = fractions or {"train": 0.80, "validation": 0.15, "test": 0.05}
    if abs(sum(fractions.values()) - 1) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    idx = list(range(len(records)))
    random.Random(seed).shuffle(idx)
    out, start = {}, 0
    names = list(fractions)
    for i, name in enumerate(names):
        n = len(idx) - start if i == len(names) - 1 else int(round(fractions[name] * len(idx)))
        out[name] = [records[j] for j in idx[start:start + n]]
        start += n
    return out
