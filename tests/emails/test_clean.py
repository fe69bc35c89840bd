"""Cleaning: HTML, quoted replies, signatures, unicode, whitespace."""
from lib.emails.clean import clean_email, html_to_text, remove_quoted_reply, remove_signature


def test_html_to_text_keeps_lines_and_decodes_entities():
    out = html_to_text("<html><head><style>p{}</style></head><body><p>R&eacute;sultat&nbsp;du stage</p>"
                       "<div>ligne 2<br>ligne 3</div><script>x()</script></body></html>")
    assert "Résultat" in out and "ligne 2\nligne 3" in out and "x()" not in out and "<" not in out


def test_quoted_replies_are_removed_fr_and_en():
    fr = "Merci pour la réponse.\n\nLe 03/03/2025 à 10:12, Jean Roux <j.roux@univ.fr> a écrit :\n> Votre dossier est complet."
    en = "Thanks!\n\nOn 2025-03-03 at 10:12, Jean Roux <j.roux@univ.fr> wrote:\n> Your file is complete."
    outlook = "Voir ci-dessous.\n-----Original Message-----\nFrom: x\nSent: y"
    assert remove_quoted_reply(fr).strip() == "Merci pour la réponse."
    assert remove_quoted_reply(en).strip() == "Thanks!"
    assert remove_quoted_reply(outlook).strip() == "Voir ci-dessous."
    assert remove_quoted_reply("> only quoted\nkept") == "kept"


def test_signature_is_removed():
    text = "Bonjour,\nMa note est fausse.\n\nCordialement,\nMarie Dupont\nTél : 06 12 34 56 78"
    assert "Marie" not in remove_signature(text) and "Ma note est fausse." in remove_signature(text)
    assert remove_signature("Body\n-- \nSig line") .strip() == "Body"
    assert "iPhone" not in remove_signature("Body\nEnvoyé de mon iPhone")


def test_clean_email_normalises_and_adds_subject():
    out = clean_email("Bonjour\u00a0!   Voici   l\u2019attestation\u200b.\n\n\n\nMerci", subject="RE: TR: Attestation")
    assert out == "Attestation\nBonjour ! Voici l'attestation."  # the closing "Merci" goes with the signature
    assert clean_email("texte", subject="(sans objet)") == "texte"
    assert clean_email(None) == ""
