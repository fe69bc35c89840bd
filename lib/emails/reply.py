"""Reply suggestions: one template per category, in the e-mail's language (FR or EN)."""
from __future__ import annotations

import re

TEMPLATES: dict[str, dict[str, str]] = {
    "Candidature": {
        "fr": "Bonjour,\n\nMerci pour votre message concernant votre candidature. Le service des admissions "
              "l'a bien reçu ; vous pouvez suivre l'état de votre dossier sur la plateforme de candidature. "
              "Nous revenons vers vous si une pièce manque.\n\nCordialement,\nLe service des admissions",
        "en": "Hello,\n\nThank you for your message about your application. The admissions office has received it; "
              "you can follow the status of your file on the application platform. We will contact you if a "
              "document is missing.\n\nKind regards,\nThe admissions office"},
    "Scolarité/Notes": {
        "fr": "Bonjour,\n\nMerci pour votre message. Le service de scolarité vérifie votre demande (notes, "
              "inscription ou attestation) et vous répond dans les meilleurs délais. Pensez à indiquer votre "
              "numéro étudiant.\n\nCordialement,\nLe service de scolarité",
        "en": "Hello,\n\nThank you for your message. The student records office is checking your request (grades, "
              "registration or certificate) and will reply shortly. Please include your student number.\n\n"
              "Kind regards,\nThe student records office"},
    "Partenariat": {
        "fr": "Bonjour,\n\nNous vous remercions de votre intérêt pour un partenariat avec l'université. Votre "
              "message a été transmis au service des relations entreprises et partenariats, qui prendra contact "
              "avec vous.\n\nCordialement,\nLe service partenariats",
        "en": "Hello,\n\nThank you for your interest in a partnership with the university. Your message has been "
              "forwarded to the corporate relations and partnerships office, which will get in touch.\n\n"
              "Kind regards,\nThe partnerships office"},
    "Stages/Insertion": {
        "fr": "Bonjour,\n\nMerci pour votre message. Le bureau des stages et de l'insertion professionnelle "
              "traite votre demande (convention, offre ou accompagnement) et vous répond rapidement.\n\n"
              "Cordialement,\nLe bureau des stages",
        "en": "Hello,\n\nThank you for your message. The internships and careers office is handling your request "
              "(agreement, offer or guidance) and will reply soon.\n\nKind regards,\nThe internships office"},
    "RH": {
        "fr": "Bonjour,\n\nVotre message a bien été reçu par le service des ressources humaines. Un(e) "
              "gestionnaire traite votre demande ; merci de ne pas transmettre de documents sensibles par "
              "simple e-mail.\n\nCordialement,\nLe service RH",
        "en": "Hello,\n\nYour message has been received by the human resources department. An HR officer is "
              "handling your request; please do not send sensitive documents by plain e-mail.\n\n"
              "Kind regards,\nThe HR department"},
    "Autres": {
        "fr": "Bonjour,\n\nMerci pour votre message. Nous l'avons transmis au service concerné, qui vous "
              "répondra directement.\n\nCordialement,\nL'accueil de l'université",
        "en": "Hello,\n\nThank you for your message. We have forwarded it to the relevant department, which will "
              "reply to you directly.\n\nKind regards,\nUniversity front desk"},
}
GENERIC = {
    "fr": "Bonjour,\n\nMerci pour votre message au sujet de « {topic} ». Il a été transmis au service "
          "compétent, qui vous répondra rapidement.\n\nCordialement,\nL'équipe support",
    "en": "Hello,\n\nThank you for your message about \"{topic}\". It has been forwarded to the relevant team, "
          "which will reply soon.\n\nKind regards,\nThe support team",
}
ABSTAIN = {
    "fr": "Bonjour,\n\nNous avons bien reçu votre message. Un agent va le lire et vous répondra personnellement."
          "\n\nCordialement,\nL'accueil de l'université",
    "en": "Hello,\n\nWe have received your message. A member of staff will read it and reply to you personally."
          "\n\nKind regards,\nUniversity front desk",
}
URGENT_NOTE = {"fr": "\n\n(Votre demande est marquée comme prioritaire.)",
               "en": "\n\n(Your request has been flagged as a priority.)"}


def humanise_label(label: str) -> str:
    """A readable topic from a label such as an intent slug ('covid---j-ai-des-enfants--' → 'covid: j ai des enfants')."""
    text = re.sub(r"-{3,}", ": ", str(label))
    text = re.sub(r"[-_]+", " ", text).strip(" :")
    return re.sub(r"\s+", " ", text)


def suggest_reply(category: str | None, lang: str | None, abstained: bool = False, urgency: str | None = None,
                  templates: dict[str, dict[str, str]] | None = None) -> str:
    """The reply template for a category in the e-mail's language (French when the language is unknown).

    Abstentions get a neutral acknowledgement (a human will answer). Categories without a template
    get a generic reply naming the topic.
    """
    lang = lang if lang in ("fr", "en") else "fr"
    table = templates if templates is not None else TEMPLATES
    if abstained or category is None:
        text = ABSTAIN[lang]
    elif category in table:
        text = table[category].get(lang) or next(iter(table[category].values()))
    else:
        text = GENERIC[lang].format(topic=humanise_label(category))
    if urgency == "haute":
        text += URGENT_NOTE[lang]
    return text
