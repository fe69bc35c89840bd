"""A held-out PII evaluation set: texts the anonymiser's patterns were not written for.

The demo inbox (`lib.emails.demo`) puts names after honorifics, on signature lines and in reply headers,
and prints phones, IBANs and student numbers in the formats the e-mail patterns (`lib/emails/pii.yaml`) look for — so its
PII scores measure the patterns on their own generator. This module writes other messages, from templates
and values that neither the generator nor the patterns use: names mid-sentence, in lower case, hyphenated,
foreign, without honorifics, in lists; e-mail addresses with sub-domains, plus-tags and capitals; phones
with dashes, brackets, a 0033 prefix or odd grouping; IBANs of other countries or unspaced; student
numbers with a letter prefix or spaces; addresses with "bis", a flat number or capitals.

Nothing in `lib/emails/pii.yaml` may be tuned on this set (its patterns and exclusion lists were written
before it, and a test checks that this set shares no name list with the demo generator). The gold spans come from the templates
(the value is a typed piece), never from the detector.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Names and domains the demo generator never uses (disjoint from its FIRST/LAST/DOMAINS lists, checked by a
# test); some cities are shared, the street formats are not.
FIRST_NAMES = ["Oluwaseun", "Siobhán", "Nguyễn Thị", "Zhang", "Aylin", "Mamadou", "Katarzyna", "Joaquín",
               "Marie-Claire", "Jean-Baptiste", "Anne-Sophie", "Rahim", "Ingrid", "Ilhan", "Lisa-Marie", "Kenji"]
LAST_NAMES = ["Adebayo", "O'Brien", "Hoa", "Wei", "Yılmaz", "Sissoko", "Kowalczyk", "Fernández", "Dubois-Lefèvre",
              "Oudin", "Ben Salah", "Haddad", "Lindqvist", "Vasseur", "Tanaka", "Kerjean"]
DOMAINS = ["etu.univ-grenoble-alpes.fr", "labo.cnrs.fr", "Gmail.com", "outlook.be", "ens-lyon.fr", "yahoo.co.uk"]
STREETS = ["bis, rue des Tanneurs", "ter avenue Jean-Jaurès", "Rue Victor Hugo", "impasse du Moulin-Vert",
           "chemin des Écoliers", "allée Marcel Pagnol"]
CITIES = [("69003", "Lyon"), ("31000", "TOULOUSE"), ("13005", "Marseille"), ("59800", "Lille"),
          ("35000", "Rennes"), ("67000", "STRASBOURG")]

# {N} a full name, {n} the same name in lower case, {F} a first name only, {E} an e-mail address,
# {T} a phone, {I} an IBAN, {S} a student number, {A} a postal address; {N2}, {N3} other people.
TEMPLATES_FR = [
    "j'ai vu {n} au secrétariat hier, il m'a dit de vous écrire pour mon dossier.",
    "Pouvez-vous transmettre mon relevé à {N} et à {N2} avant vendredi ?",
    "Le groupe de projet : {N}, {N2} et {N3}. Nous souhaitons changer de sujet.",
    "Mon binôme {F} est malade, on peut décaler la soutenance ?",
    "Merci de me répondre sur {E} plutôt que sur ma boîte universitaire.",
    "Vous pouvez me joindre au {T} après 18h.",
    "Pour le remboursement, voici mon RIB : {I}.",
    "Mon numéro étudiant est le {S}, je n'arrive pas à accéder à l'ENT.",
    "Ma nouvelle adresse est {A}, pour l'envoi du diplôme.",
    "C'est {N} qui encadre mon stage, son numéro : {T}.",
    "Bonjour, suite à l'échange avec {n}, je vous envoie mon attestation. Tél {T}.",
    "Les inscrits en retard sont {F} {N2} et {N3}, d'après la liste.",
]
TEMPLATES_EN = [
    "I spoke with {N} yesterday and she told me to email you about my transcript.",
    "Please send the form to {E} and copy {N2}.",
    "my flatmate {n} will pick up the documents for me",
    "You can call me on {T} any time this week.",
    "My bank details for the refund: {I}",
    "Student number {S} – I cannot register for the exam.",
    "Please post the certificate to {A}.",
    "The team is {N}, {N2} and {N3}; we would like another supervisor.",
]


def _phone(rng: np.random.Generator) -> str:
    d = [str(x) for x in rng.integers(0, 10, size=8)]
    first = str(rng.choice(["6", "7", "1", "4"]))
    pairs = ["".join(d[i:i + 2]) for i in range(0, 8, 2)]
    style = int(rng.integers(0, 5))
    if style == 0:
        return "0" + first + "-" + "-".join(pairs)  # 06-12-34-56-78
    if style == 1:
        return "(+33) " + first + " " + " ".join(pairs)  # (+33) 6 12 34 56 78
    if style == 2:
        return "0033" + first + "".join(pairs)  # 0033612345678
    if style == 3:
        return "+33 (0)" + first + " " + " ".join(pairs)  # +33 (0)6 12 34 56 78
    return "0" + first + " " + "".join(d[:3]) + " " + "".join(d[3:6]) + " " + "".join(d[6:])  # 06 123 456 78


def _iban(rng: np.random.Generator) -> str:
    country, length = [("DE", 18), ("BE", 12), ("ES", 20), ("FR", 23), ("IT", 23)][int(rng.integers(0, 5))]
    if country == "IT":
        bban = chr(65 + int(rng.integers(0, 26))) + "".join(str(x) for x in rng.integers(0, 10, size=22))
    else:
        bban = "".join(str(x) for x in rng.integers(0, 10, size=length))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    raw = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.5:
        return raw  # unspaced
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _student(rng: np.random.Generator) -> str:
    digits = str(rng.choice(["2", "3"])) + "".join(str(x) for x in rng.integers(0, 10, size=7))
    style = int(rng.integers(0, 3))
    if style == 0:
        return digits[:4] + " " + digits[4:]  # 2145 6789
    if style == 1:
        return "ETU" + digits  # ETU21456789
    return "n°" + digits


def _email(rng: np.random.Generator, first: str, last: str) -> str:
    import unicodedata

    def ascii_(s: str) -> str:
        return re.sub(r"[^A-Za-z-]", "", unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode())

    local = f"{ascii_(first)}.{ascii_(last)}"
    if rng.random() < 0.4:
        local += "+" + str(rng.choice(["stage", "l3", "admin"]))
    return f"{local}@{rng.choice(DOMAINS)}"


def _address(rng: np.random.Generator) -> str:
    zip_, city = CITIES[int(rng.integers(len(CITIES)))]
    flat = "Appt 4, " if rng.random() < 0.3 else ""
    return f"{flat}{int(rng.integers(1, 150))} {rng.choice(STREETS)}, {zip_} {city}"


def _name(rng: np.random.Generator) -> tuple[str, str]:
    return str(rng.choice(FIRST_NAMES)), str(rng.choice(LAST_NAMES))


def generate_heldout_pii(n: int = 400, seed: int = 2024) -> pd.DataFrame:
    """`n` messages with gold PII spans: columns text, lang, template, pii [(start, end, TYPE)]."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        lang = "fr" if rng.random() < 0.65 else "en"
        templates = TEMPLATES_FR if lang == "fr" else TEMPLATES_EN
        t_index = int(rng.integers(len(templates)))
        template = templates[t_index]
        people = [_name(rng) for _ in range(3)]
        text, spans = "", []
        for part in re.split(r"(\{\w\d?\})", template):
            m = re.fullmatch(r"\{(\w)(\d?)\}", part)
            if not m:
                text += part
                continue
            key, k = m.group(1), int(m.group(2) or 1) - 1
            first, last = people[k]
            value, kind = {
                "N": (f"{first} {last}", "PERSON"), "n": (f"{first} {last}".lower(), "PERSON"),
                "F": (first, "PERSON"), "E": (_email(rng, first, last), "EMAIL"), "T": (_phone(rng), "PHONE"),
                "I": (_iban(rng), "IBAN"), "S": (_student(rng), "STUDENT_ID"), "A": (_address(rng), "ADDRESS"),
            }[key]
            spans.append((len(text), len(text) + len(value), kind))
            text += value
        rows.append({"id": f"heldout-{i:04d}", "text": text, "lang": lang, "template": f"{lang}-{t_index}",
                     "pii": spans})
    return pd.DataFrame(rows)
