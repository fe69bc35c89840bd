"""A deterministic, synthetic university inbox (French and English) with PII ground truth.

Every e-mail is assembled from typed pieces so the exact character spans of the PII it contains
(names, e-mail addresses, French phone numbers, student numbers, IBANs, postal addresses) are known.
The categories overlap on purpose (shared sentences, off-topic remarks, quoted replies from another
thread, 6 % label noise) so that a classifier has something to learn and something to get wrong.
"""
from __future__ import annotations

import html
import re
import unicodedata
from datetime import date, timedelta
from typing import Callable

import numpy as np
import pandas as pd

CATEGORIES = ("Autres", "Candidature", "Partenariat", "RH", "Scolarité/Notes", "Stages/Insertion")
URGENCIES = ("faible", "moyenne", "haute")
PII_TYPES = ("PERSON", "EMAIL", "PHONE", "STUDENT_ID", "IBAN", "ADDRESS")

FIRST = ["Marie", "Lucas", "Chloé", "Hugo", "Inès", "Mathis", "Léa", "Nathan", "Camille", "Yanis", "Manon",
         "Théo", "Sarah", "Enzo", "Zoé", "Louis", "Jade", "Karim", "Amina", "Julien", "Élodie", "Pierre",
         "Sophie", "Mehdi", "Nadia", "Thomas", "Aurélie", "Kevin", "Fatou", "Antoine", "Clémence", "Youssef",
         "Emily", "James", "Olivia", "Daniel", "Mei", "Lukas", "Ana", "Giulia"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
        "Morel", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Benali", "Diallo",
        "Nguyen", "Mercier", "Chevalier", "Garnier", "Faure", "Perrin", "Smith", "Johnson", "Müller",
        "Rossi", "Kowalski"]
STREETS = ["rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue des Lilas",
           "place du Marché", "allée des Tilleuls", "chemin des Vignes", "rue Pasteur", "avenue de la Gare",
           "impasse des Rosiers", "quai Saint-Vincent", "rue du Général de Gaulle"]
CITIES = [("69007", "Lyon"), ("75013", "Paris"), ("31400", "Toulouse"), ("33000", "Bordeaux"),
          ("59000", "Lille"), ("44000", "Nantes"), ("13005", "Marseille"), ("67000", "Strasbourg"),
          ("35000", "Rennes"), ("34090", "Montpellier"), ("38000", "Grenoble"), ("21000", "Dijon")]
DOMAINS = ["gmail.com", "yahoo.fr", "orange.fr", "outlook.com", "etu.univ-exemple.fr", "hotmail.fr",
           "free.fr", "entreprise-exemple.com"]
STAFF_DOMAIN = "univ-exemple.fr"
FORMATIONS = ["Master Informatique", "Licence Économie-Gestion", "BUT GEA", "Master MEEF", "Licence de Droit",
              "Master Data Science", "Licence Psychologie", "Master Finance", "DU Français langue étrangère"]
COMPANIES = ["Airbus", "Decathlon", "Capgemini", "le Crédit Agricole", "Thales", "la SNCF", "Orange",
             "une PME lyonnaise", "Sopra Steria", "la mairie de Villeurbanne"]
COURSES = ["statistiques", "droit des contrats", "macroéconomie", "programmation Python", "anglais",
           "comptabilité", "psychologie sociale", "bases de données"]
DATES_FR = ["le 15 mars", "vendredi prochain", "le 2 juin", "lundi", "la fin du mois", "le 30 septembre"]
DATES_EN = ["March 15", "next Friday", "June 2", "Monday", "the end of the month", "September 30"]

# Sentences per category and language. {slots}: f=formation, c=company, m=course, d=date;
# PII slots: P=person (other), S=student id, I=IBAN, A=address, E=e-mail, T=phone.
CORE: dict[str, dict[str, list[str]]] = {
    "Candidature": {
        "fr": ["Je souhaite candidater au {f} pour la rentrée prochaine.",
               "Mon dossier de candidature sur la plateforme est-il complet ?",
               "Quels sont les prérequis pour être admis en {f} ?",
               "J'ai déposé ma candidature mais je n'ai reçu aucune confirmation.",
               "Pouvez-vous me dire quand les résultats d'admission seront publiés ?",
               "Je voudrais savoir si ma candidature en {f} a été retenue.",
               "Faut-il une lettre de motivation pour postuler en {f} ?",
               "Je suis sur liste d'attente pour le {f}, ai-je encore une chance ?",
               "Puis-je candidater avec un diplôme obtenu à l'étranger ?",
               "La date limite de dépôt des candidatures est-elle {d} ?"],
        "en": ["I would like to apply to the {f} programme for next year.",
               "Is my application file complete on the platform?",
               "What are the admission requirements for the {f}?",
               "I submitted my application but never received a confirmation.",
               "When will the admission results be published?",
               "Could you tell me whether my application to the {f} was accepted?",
               "Do I need a motivation letter to apply?",
               "I am on the waiting list for the {f}, do I still have a chance?",
               "Can I apply with a degree obtained abroad?",
               "Is the application deadline {d}?"]},
    "Scolarité/Notes": {
        "fr": ["Ma note de {m} n'apparaît pas sur mon relevé.",
               "Je pense qu'il y a une erreur dans le calcul de ma moyenne du semestre.",
               "Pourrais-je obtenir un relevé de notes officiel ?",
               "Quand aura lieu la session de rattrapage de {m} ?",
               "Je n'arrive pas à finaliser mon inscription pédagogique.",
               "J'ai besoin d'un certificat de scolarité pour la CAF.",
               "Est-il possible de consulter ma copie d'examen de {m} ?",
               "Mon emploi du temps indique deux examens en même temps.",
               "Je souhaite demander une révision de ma note de {m}.",
               "Comment valider les crédits ECTS qui me manquent ?"],
        "en": ["My {m} grade does not appear on my transcript.",
               "I think there is a mistake in my semester average.",
               "Could I get an official transcript of records?",
               "When is the resit exam for {m}?",
               "I cannot complete my course registration online.",
               "I need a certificate of enrolment for my visa.",
               "Is it possible to see my marked {m} exam paper?",
               "My timetable shows two exams at the same time.",
               "I would like to request a review of my {m} mark.",
               "How can I validate the ECTS credits I am missing?"]},
    "Partenariat": {
        "fr": ["Notre entreprise souhaite établir un partenariat avec votre université.",
               "Nous aimerions proposer une convention de partenariat pour la recherche.",
               "Seriez-vous intéressés par un projet commun avec {c} ?",
               "Nous cherchons un interlocuteur pour un mécénat de la fondation.",
               "Notre université partenaire propose un échange Erasmus avec votre faculté.",
               "Pouvons-nous organiser une réunion pour discuter d'une collaboration ?",
               "Nous souhaitons intervenir dans le {f} sous forme de conférences.",
               "La chaire que nous finançons doit être renouvelée cette année.",
               "Nous proposons de co-organiser un hackathon avec vos étudiants.",
               "Le projet de recherche commun avec {c} avance bien."],
        "en": ["Our company would like to set up a partnership with your university.",
               "We would like to propose a research collaboration agreement.",
               "Would you be interested in a joint project with {c}?",
               "We are looking for a contact person for corporate sponsorship.",
               "Our partner university offers an Erasmus exchange with your faculty.",
               "Could we schedule a meeting to discuss a collaboration?",
               "We would like to give guest lectures in the {f}.",
               "The chair we fund must be renewed this year.",
               "We propose to co-organise a hackathon with your students.",
               "The joint research project with {c} is progressing well."]},
    "Stages/Insertion": {
        "fr": ["Je cherche un stage de fin d'études chez {c}.",
               "Ma convention de stage doit être signée par le responsable pédagogique.",
               "L'entreprise {c} me propose un stage de six mois, est-ce compatible avec le {f} ?",
               "Comment déclarer mon stage sur la plateforme ?",
               "Mon tuteur en entreprise voudrait connaître la date de soutenance.",
               "Y a-t-il des offres d'alternance pour le {f} ?",
               "Je voudrais de l'aide pour mon CV avant le forum des entreprises.",
               "La gratification de mon stage n'a pas été versée.",
               "Puis-je prolonger mon stage d'un mois ?",
               "Je cherche un premier emploi après mon diplôme."],
        "en": ["I am looking for an end-of-studies internship at {c}.",
               "My internship agreement must be signed by the academic supervisor.",
               "{c} offered me a six-month internship, is it compatible with the {f}?",
               "How do I register my internship on the platform?",
               "My company tutor would like to know the date of the defence.",
               "Are there work-study offers for the {f}?",
               "I would like help with my CV before the careers fair.",
               "My internship allowance has not been paid.",
               "Can I extend my internship by one month?",
               "I am looking for my first job after graduation."]},
    "RH": {
        "fr": ["Je n'ai pas reçu mon bulletin de salaire du mois dernier.",
               "Je souhaite poser des congés du {d} au vendredi suivant.",
               "Mon contrat de travail arrive à échéance, sera-t-il renouvelé ?",
               "Je vous transmets mon arrêt maladie.",
               "Comment demander un passage à temps partiel ?",
               "Ma mutuelle n'a pas été prise en compte sur la fiche de paie.",
               "Je candidate au poste de gestionnaire administratif publié sur le site.",
               "Pouvez-vous mettre à jour mes coordonnées bancaires pour la paie ?",
               "Je souhaite m'inscrire à une formation professionnelle.",
               "Les heures complémentaires de vacation ne m'ont pas été payées."],
        "en": ["I did not receive last month's payslip.",
               "I would like to take leave from {d} to the following Friday.",
               "My employment contract ends soon, will it be renewed?",
               "Please find attached my sick leave certificate.",
               "How can I request to work part-time?",
               "My health insurance is missing from my payslip.",
               "I am applying for the administrative officer position posted on the website.",
               "Could you update my bank details for the payroll?",
               "I would like to enrol in a professional training course.",
               "My overtime teaching hours have not been paid."]},
    "Autres": {
        "fr": ["Le parking de la faculté est fermé depuis lundi.",
               "J'ai perdu ma carte étudiante à la bibliothèque.",
               "Le wifi ne fonctionne pas dans l'amphithéâtre.",
               "Où puis-je trouver le règlement intérieur ?",
               "Je souhaite signaler une salle sans chauffage.",
               "Bonjour, je voulais juste vous remercier pour votre aide.",
               "Pouvez-vous transmettre ce message au service concerné ?",
               "L'association étudiante organise une soirée, pouvons-nous réserver une salle ?",
               "Le distributeur de la cafétéria est en panne.",
               "Je n'arrive pas à me connecter à ma messagerie."],
        "en": ["The faculty car park has been closed since Monday.",
               "I lost my student card at the library.",
               "The wifi does not work in the lecture hall.",
               "Where can I find the internal regulations?",
               "I would like to report a room without heating.",
               "Hello, I just wanted to thank you for your help.",
               "Could you forward this message to the relevant department?",
               "The student association is organising an event, can we book a room?",
               "The vending machine in the cafeteria is broken.",
               "I cannot log in to my university mailbox."]},
}
# Sentences that several categories share (the reason the task is not trivial).
SHARED: list[tuple[tuple[str, ...], str, str]] = [
    (("Stages/Insertion", "Partenariat"), "Je vous envoie la convention signée par {c}.",
     "Please find the agreement signed by {c}."),
    (("Stages/Insertion", "Partenariat", "RH"), "Pouvez-vous me dire qui doit signer le contrat ?",
     "Could you tell me who has to sign the contract?"),
    (("Candidature", "Scolarité/Notes"), "Je joins mes relevés de notes de l'année dernière.",
     "I attach my transcripts from last year."),
    (("Candidature", "Scolarité/Notes", "Stages/Insertion"), "Il me manque une attestation pour compléter mon dossier.",
     "I am missing a certificate to complete my file."),
    (("Candidature", "RH"), "Je vous adresse ma candidature et mon CV.", "Please find my application and my CV."),
    (("Scolarité/Notes", "Autres"), "Mon compte sur l'ENT est bloqué depuis hier.",
     "My account on the student portal has been locked since yesterday."),
    (("RH", "Stages/Insertion"), "Le versement n'apparaît toujours pas sur mon compte.",
     "The payment still does not show on my account."),
    (("Partenariat", "Autres"), "Nous organisons un événement sur le campus et cherchons une salle.",
     "We are organising an event on campus and need a room."),
    (("Candidature", "Stages/Insertion", "Scolarité/Notes"), "Pouvez-vous me confirmer la date limite ?",
     "Could you confirm the deadline?"),
    (("RH", "Partenariat", "Autres"), "Je souhaite rencontrer la personne responsable de ce dossier.",
     "I would like to meet the person in charge of this matter."),
    (("Scolarité/Notes", "Stages/Insertion"), "Ma soutenance est-elle bien programmée {d} ?",
     "Is my defence scheduled for {d}?"),
]
# PII-bearing sentences, by category affinity.
PII_SENT = {
    "S": (("Candidature", "Scolarité/Notes", "Stages/Insertion", "Autres"),
          ["Mon numéro étudiant est {S}.", "N° étudiant : {S}", "Je suis inscrit(e) sous le numéro {S}."],
          ["My student number is {S}.", "Student ID: {S}", "I am registered under number {S}."]),
    "I": (("RH", "Stages/Insertion"),
          ["Voici mon IBAN pour le virement : {I}", "Mes nouvelles coordonnées bancaires : IBAN {I}."],
          ["Here is my IBAN for the transfer: {I}", "My new bank details: IBAN {I}."]),
    "A": (("Candidature", "RH", "Autres", "Scolarité/Notes"),
          ["Ma nouvelle adresse est {A}.", "Merci d'envoyer le courrier au {A}."],
          ["My new postal address is {A}.", "Please send the letter to {A}."]),
    "E": (tuple(CATEGORIES), ["Vous pouvez aussi m'écrire à {E}.", "Merci de répondre à mon adresse personnelle {E}."],
          ["You can also write to me at {E}.", "Please reply to my personal address {E}."]),
    "T": (tuple(CATEGORIES), ["Vous pouvez me joindre au {T}.", "Mon téléphone : {T}"],
          ["You can reach me on {T}.", "My phone: {T}"]),
    "P": (("Stages/Insertion", "Partenariat", "RH", "Scolarité/Notes"),
          ["J'ai contacté {P} mais sans réponse.", "{P} m'a conseillé de vous écrire.",
           "Mon tuteur, {P}, est en copie."],
          ["I contacted {P} but got no answer.", "{P} advised me to write to you.",
           "My tutor, {P}, is in copy."]),
}
URGENT_MARKERS = {
    "fr": ["C'est urgent.", "Merci de me répondre avant demain.", "J'ai besoin d'une réponse aujourd'hui.",
           "URGENT : la date limite est demain.", "Pouvez-vous traiter ma demande au plus vite ?",
           "Il me faut ce document dès que possible, l'échéance est ce soir."],
    "en": ["This is urgent.", "Please answer before tomorrow.", "I need an answer today.",
           "URGENT: the deadline is tomorrow.", "Could you handle this asap?",
           "I need this document as soon as possible, the deadline is tonight."],
}
MEDIUM_MARKERS = {
    "fr": ["Une réponse cette semaine serait appréciée.", "J'aurais besoin de cette information rapidement.",
           "Le dossier doit être complet d'ici {d}.", "Je reste bloqué(e) en attendant votre retour."],
    "en": ["An answer this week would be appreciated.", "I would need this information quickly.",
           "The file must be complete by {d}.", "I am stuck until I hear back from you."],
}
LOW_MARKERS = {
    "fr": ["Ce n'est pas urgent.", "Quand vous aurez le temps.", "Rien d'urgent, simple question.",
           "Sans urgence, merci."],
    "en": ["This is not urgent.", "Whenever you have time.", "Nothing urgent, just a question.",
           "No rush, thanks."],
}
# Present-day mentions that are not urgent (they make a naive "today" rule imprecise).
DECOY = {"fr": ["J'ai reçu aujourd'hui un courrier de votre part.", "Je suis passé(e) aujourd'hui au secrétariat."],
         "en": ["I received a letter from you today.", "I went to the office today."]}
SUBJECTS = {
    "Candidature": (["Candidature {f}", "Question admission", "Dossier de candidature", "Admission {f}"],
                    ["Application {f}", "Admission question", "Application file"]),
    "Scolarité/Notes": (["Relevé de notes", "Erreur de note", "Inscription pédagogique", "Examen de {m}"],
                        ["Transcript", "Grade issue", "Course registration", "{m} exam"]),
    "Partenariat": (["Proposition de partenariat", "Collaboration", "Projet commun", "Mécénat"],
                    ["Partnership proposal", "Collaboration", "Joint project"]),
    "Stages/Insertion": (["Convention de stage", "Stage {c}", "Recherche de stage", "Alternance"],
                         ["Internship agreement", "Internship at {c}", "Work-study"]),
    "RH": (["Fiche de paie", "Demande de congés", "Contrat", "Arrêt maladie"],
           ["Payslip", "Leave request", "Contract"]),
    "Autres": (["Question", "Signalement", "Information", "Carte étudiante"],
               ["Question", "Report", "Information"]),
}
GENERIC_SUBJECTS = (["Demande", "Question", "Suite à notre échange", "(sans objet)", "Renseignement"],
                    ["Request", "Question", "Follow-up", "(no subject)"])
GREET = {"fr": ["Bonjour,", "Bonjour Madame {L},", "Bonjour Monsieur {L},", "Madame, Monsieur,", "Bonsoir,",
                "Bonjour à tous,", "Bjr,"],
         "en": ["Hello,", "Dear Sir or Madam,", "Dear Dr {L},", "Hi,", "Good morning,", "Dear Ms {L},"]}
FILLER = {"fr": ["Je me permets de vous contacter au sujet de ma situation.", "Merci d'avance pour votre retour.",
                 "Je vous remercie par avance.", "Je reste à votre disposition pour tout complément.",
                 "J'espère que vous allez bien.", "Désolé(e) pour le dérangement."],
          "en": ["I am writing to you about my situation.", "Thank you in advance for your answer.",
                 "Many thanks in advance.", "I remain available for any further information.",
                 "I hope you are well.", "Sorry to bother you."]}
CLOSE = {"fr": ["Cordialement,", "Bien cordialement,", "Bien à vous,", "Merci,", "Salutations distinguées,"],
         "en": ["Best regards,", "Kind regards,", "Regards,", "Thanks,", "Sincerely,"]}
# Sentences a staff member might have written in the quoted (earlier) message.
STAFF = {"fr": ["Pouvez-vous préciser votre demande ?", "Votre dossier est en cours de traitement.",
                "Merci de nous transmettre les pièces manquantes.", "Nous revenons vers vous rapidement."],
         "en": ["Could you clarify your request?", "Your file is being processed.",
                "Please send us the missing documents.", "We will get back to you shortly."]}

Piece = tuple[str, str | None]  # (text, PII type or None)


def _iban(rng: np.random.Generator) -> str:
    """A French IBAN with a valid ISO 13616 mod-97 check, printed in groups of four."""
    bban = "".join(str(d) for d in rng.integers(0, 10, size=23))
    numeric = "".join(str(int(ch, 36)) for ch in bban + "FR00")
    check = 98 - int(numeric) % 97
    raw = f"FR{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _phone(rng: np.random.Generator) -> str:
    digits = [str(d) for d in rng.integers(0, 10, size=8)]
    first = str(rng.choice(["1", "2", "3", "4", "5", "6", "7", "9"]))
    pairs = ["0" + first] + ["".join(digits[i:i + 2]) for i in range(0, 8, 2)]
    style = rng.integers(0, 4)
    if style == 0:
        return " ".join(pairs)
    if style == 1:
        return ".".join(pairs)
    if style == 2:
        return "+33 " + first + " " + " ".join(pairs[1:])
    return "".join(pairs)


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


class _Person:
    def __init__(self, rng: np.random.Generator):
        self.first = str(rng.choice(FIRST))
        self.last = str(rng.choice(LAST))
        dom = str(rng.choice(DOMAINS))
        sep = str(rng.choice([".", "_", ""]))
        local = f"{_ascii(self.first).lower()}{sep}{_ascii(self.last).lower()}"
        if rng.random() < 0.3:
            local += str(rng.integers(1, 99))
        self.email = f"{local}@{dom}"
        self.phone = _phone(rng)
        self.student_id = str(rng.choice(["2", "3"])) + "".join(str(d) for d in rng.integers(0, 10, size=7))
        num, city = rng.integers(1, 120), CITIES[rng.integers(len(CITIES))]
        self.address = f"{num} {rng.choice(STREETS)}, {city[0]} {city[1]}"
        self.iban = _iban(rng)

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def _fill(template: str, rng: np.random.Generator, lang: str, person: _Person, other: _Person) -> list[Piece]:
    """Expand {slots}; PII slots become typed pieces."""
    out: list[Piece] = []
    for part in re.split(r"(\{\w\})", template):
        m = re.fullmatch(r"\{(\w)\}", part)
        if not m:
            if part:
                out.append((part, None))
            continue
        key = m.group(1)
        if key == "f":
            out.append((str(rng.choice(FORMATIONS)), None))
        elif key == "c":
            out.append((str(rng.choice(COMPANIES)), None))
        elif key == "m":
            out.append((str(rng.choice(COURSES)), None))
        elif key == "d":
            out.append((str(rng.choice(DATES_FR if lang == "fr" else DATES_EN)), None))
        elif key == "L":
            out.append((other.last, "PERSON"))
        elif key == "P":
            title = rng.choice(["", "M. ", "Mme "] if lang == "fr" else ["", "Mr ", "Ms "])
            if title:
                out.append((str(title), None))
                out.append((other.last if rng.random() < 0.5 else other.full, "PERSON"))
            else:
                out.append((other.full, "PERSON"))
        else:
            value, kind = {"S": (person.student_id, "STUDENT_ID"), "I": (person.iban, "IBAN"),
                           "A": (person.address, "ADDRESS"), "E": (person.email, "EMAIL"),
                           "T": (person.phone, "PHONE")}[key]
            out.append((value, kind))
    return out


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    op = rng.integers(0, 3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _transform(pieces: list[Piece], fn: Callable[[str], str]) -> list[Piece]:
    return [(fn(t), k) if k is None else (t, k) for t, k in pieces]


def _email(i: int, rng: np.random.Generator) -> dict:
    lang = "fr" if rng.random() < 0.65 else "en"
    li = 0 if lang == "fr" else 1
    category = str(rng.choice(CATEGORIES, p=[0.12, 0.22, 0.1, 0.16, 0.24, 0.16]))
    # urgency depends a little on the category (applications and grades have deadlines)
    base = {"Candidature": [0.45, 0.33, 0.22], "Scolarité/Notes": [0.5, 0.32, 0.18], "RH": [0.55, 0.3, 0.15],
            "Stages/Insertion": [0.5, 0.33, 0.17], "Partenariat": [0.7, 0.25, 0.05], "Autres": [0.7, 0.22, 0.08]}
    urgency = str(rng.choice(URGENCIES, p=base[category]))
    person, other = _Person(rng), _Person(rng)
    fill = lambda t: _fill(t, rng, lang, person, other)  # noqa: E731

    sentences: list[list[Piece]] = []
    n_core = int(rng.choice([0, 1, 2, 3], p=[0.28, 0.44, 0.23, 0.05]))
    for t in rng.choice(CORE[category][lang], size=n_core, replace=False):
        sentences.append(fill(str(t)))
    shared = [s for s in SHARED if category in s[0]]
    n_shared = int(rng.choice([0, 1, 2], p=[0.45, 0.42, 0.13])) if shared else 0
    if n_core == 0 and shared:
        n_shared = max(n_shared, 1)
    for j in rng.choice(len(shared), size=min(n_shared, len(shared)), replace=False) if n_shared else []:
        sentences.append(fill(shared[int(j)][1 + li]))
    if not sentences:
        sentences.append(fill(str(rng.choice(CORE[category][lang]))))
    if rng.random() < 0.25:  # an off-topic remark borrowed from another category
        other_cat = str(rng.choice([c for c in CATEGORIES if c != category]))
        sentences.append([("Par ailleurs, " if lang == "fr" else "Also, ", None)]
                         + _transform(fill(str(rng.choice(CORE[other_cat][lang]))), lambda s: s[:1].lower() + s[1:]))
    for key, (cats, fr, en) in PII_SENT.items():
        p = 0.35 if category in cats else 0.04
        if key in "ET":
            p = 0.15
        if rng.random() < p:
            sentences.append(fill(str(rng.choice(fr if lang == "fr" else en))))
    order = rng.permutation(len(sentences))
    sentences = [sentences[k] for k in order]
    # urgency markers (explicit for most, not all, urgent e-mails; misleading cues elsewhere)
    if urgency == "haute" and rng.random() < 0.75:
        sentences.insert(int(rng.integers(0, len(sentences) + 1)), fill(str(rng.choice(URGENT_MARKERS[lang]))))
    elif urgency == "moyenne" and rng.random() < 0.6:
        sentences.append(fill(str(rng.choice(MEDIUM_MARKERS[lang]))))
    elif urgency == "faible" and rng.random() < 0.35:
        sentences.append(fill(str(rng.choice(LOW_MARKERS[lang]))))
    if urgency != "haute" and rng.random() < 0.07:
        sentences.insert(0, fill(str(rng.choice(DECOY[lang]))))
    if rng.random() < 0.6:
        sentences.insert(0, fill(str(rng.choice(FILLER[lang]))))

    body: list[Piece] = []
    body += fill(str(rng.choice(GREET[lang]))) + [("\n\n", None)]
    for k, s in enumerate(sentences):
        body += s + [(" " if rng.random() < 0.6 and k < len(sentences) - 1 else "\n", None)]
    body += [("\n", None)] + fill(str(rng.choice(CLOSE[lang]))) + [("\n", None)]
    if rng.random() < 0.85:
        body += [(person.full if rng.random() < 0.8 else person.first, "PERSON"), ("\n", None)]
    if rng.random() < 0.3:
        body += [(str(rng.choice(FORMATIONS)), None), ("\n", None)]
    if rng.random() < 0.25:
        body += [("Tél : " if lang == "fr" else "Phone: ", None), (person.phone, "PHONE"), ("\n", None)]
    if rng.random() < 0.1:
        body += [("Envoyé de mon iPhone\n" if lang == "fr" else "Sent from my iPhone\n", None)]

    # text noise on the non-PII parts: typos and missing accents
    typo_rate = float(rng.choice([0.0, 0.02, 0.06], p=[0.5, 0.35, 0.15]))
    if typo_rate:
        body = _transform(body, lambda s: re.sub(r"[^\W\d_]{5,}", lambda m: _typo(m.group(0), rng)
                                                 if rng.random() < typo_rate else m.group(0), s))
    if lang == "fr" and rng.random() < 0.25:
        body = _transform(body, _ascii)

    # a quoted earlier message, often from another thread (noise unless the cleaner removes it)
    if rng.random() < 0.25:
        staff = _Person(rng)
        staff_mail = f"{_ascii(staff.first).lower()}.{_ascii(staff.last).lower()}@{STAFF_DOMAIN}"
        quoted_cat = category if rng.random() < 0.4 else str(rng.choice(CATEGORIES))
        q_sent = [str(rng.choice(STAFF[lang])), str(rng.choice(CORE[quoted_cat][lang]))]
        d = date(2025, 1, 6) + timedelta(days=int(rng.integers(0, 300)))
        if lang == "fr":
            head = [(f"\nLe {d.strftime('%d/%m/%Y')} à 10:{rng.integers(10, 59)}, ", None), (staff.full, "PERSON"),
                    (" <", None), (staff_mail, "EMAIL"), ("> a écrit :\n", None)]
        else:
            head = [(f"\nOn {d.isoformat()} at 10:{rng.integers(10, 59)}, ", None), (staff.full, "PERSON"),
                    (" <", None), (staff_mail, "EMAIL"), ("> wrote:\n", None)]
        quoted = []
        for s in q_sent:
            quoted += [("> ", None)] + fill(s) + [("\n", None)]
        body += head + quoted
    is_html = rng.random() < 0.15
    if is_html:
        body = _transform(body, lambda s: html.escape(s, quote=False).replace("\n", "<br>\n")
                          .replace("é", "&eacute;").replace("è", "&egrave;").replace("à", "&agrave;"))
        body = [("<html><body><div style=\"font-family:Arial\">", None)] + body + [("</div></body></html>", None)]
    if rng.random() < 0.08:  # messy whitespace and non-breaking spaces
        body = _transform(body, lambda s: s.replace(" : ", "\u00a0: ").replace(". ", ".  "))

    text, spans, pos = "", [], 0
    for t, k in body:
        if k is not None:
            spans.append((pos, pos + len(t), k))
        text += t
        pos += len(t)
    subj_pool = SUBJECTS[category][li] if rng.random() < 0.6 else GENERIC_SUBJECTS[li]
    subject = "".join(t for t, _ in fill(str(rng.choice(subj_pool))))
    if urgency == "haute" and rng.random() < 0.3:
        subject = "URGENT - " + subject
    if rng.random() < 0.2:
        subject = ("RE: " if rng.random() < 0.5 else "TR: ") + subject
    noisy_label = category
    if rng.random() < 0.06:  # annotation noise
        noisy_label = str(rng.choice([c for c in CATEGORIES if c != category]))
    sent = date(2025, 1, 6) + timedelta(days=int(rng.integers(0, 300)))
    return {"id": f"demo-{i:05d}", "date": sent.isoformat(), "sender": person.email, "subject": subject,
            "text": text, "lang": lang, "category": noisy_label, "urgency": urgency, "is_html": is_html,
            "pii": spans}


def generate_demo_inbox(n: int = 1200, seed: int = 42) -> pd.DataFrame:
    """The synthetic inbox: `n` e-mails (FR ≈ 65 %, EN ≈ 35 %), deterministic given `seed`.

    Columns: id, date, sender, subject, text (raw body: may hold HTML, quoted replies, signatures),
    lang, category, urgency, is_html, pii (list of (start, end, type) spans into `text`).
    """
    if n < 1:
        raise ValueError("n must be positive")
    rng = np.random.default_rng(seed)
    return pd.DataFrame([_email(i, rng) for i in range(n)])


def demo_pii_values(df: pd.DataFrame) -> dict[str, set[str]]:
    """The raw PII strings of a demo inbox, by type (to check that none survive anonymisation)."""
    out: dict[str, set[str]] = {t: set() for t in PII_TYPES}
    for text, spans in zip(df["text"], df["pii"]):
        for s, e, kind in spans:
            out[kind].add(text[s:e])
    return out


__all__ = ["CATEGORIES", "URGENCIES", "PII_TYPES", "generate_demo_inbox", "demo_pii_values"]
