"""E-mail cleaning: HTML to text, quoted replies, signatures, unicode and whitespace normalisation."""
from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

_HTML_HINT = re.compile(r"<\s*(html|body|div|p|br|span|table|td|font|b|i|a)\b[^>]*>", re.I)
_BLOCK_TAGS = {"br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "blockquote"}
# Reply headers written by common clients (Gmail, Outlook, Thunderbird, Apple Mail) in FR and EN.
_REPLY_HEADER = re.compile(
    r"^\s*(?:"
    r"le\s.{4,120}?a\s+[ée]crit\s*:?"  # Le lun. 3 mars 2025 à 10:12, X <x@y> a écrit :
    r"|on\s.{4,120}?wrote\s*:?"  # On Mon, Mar 3, 2025 at 10:12 AM X <x@y> wrote:
    r"|-{2,}\s*(?:original message|message d'origine|forwarded message|message transf[ée]r[ée])\s*-{2,}"
    r"|_{5,}"  # Outlook's separator line
    r"|(?:de|from)\s*:\s.+\n\s*(?:envoy[ée]|sent|date)\s*:"  # Outlook header block
    r")",
    re.I | re.M,
)
_CLOSING = re.compile(
    r"^\s*(?:bien\s+)?(?:cordialement|(?:bien\s+)?[àa]\s+vous|salutations(?:\s+distingu[ée]es)?|sinc[eè]rement"
    r"|best(?:\s+regards)?|kind\s+regards|regards|sincerely|thanks|thank\s+you|merci(?:\s+d'avance)?"
    r"|bonne\s+(?:journ[ée]e|soir[ée]e)|respectueusement|cheers)\s*[,.!]?\s*$",
    re.I,
)
_SENT_FROM = re.compile(r"^\s*(?:envoy[ée] de mon|sent from my|get outlook for)\b.*$", re.I | re.M)
_TRANSLATE = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2019": "'", "\u2018": "'",
                            "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"', "\u2013": "-",
                            "\u2014": "-", "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:  # noqa: ANN001
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    """Whether the text carries HTML markup."""
    return bool(_HTML_HINT.search(text or ""))


def html_to_text(text: str) -> str:
    """Strip tags (block tags become line breaks), drop scripts/styles, decode entities."""
    if not looks_like_html(text):
        return html.unescape(text) if re.search(r"&(?:#\d+|#x[0-9a-f]+|\w+);", text, re.I) else text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    out = "".join(parser.parts)
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", out)


def remove_quoted_reply(text: str) -> str:
    """Cut the text at the first reply/forward header and drop `>`-quoted lines."""
    m = _REPLY_HEADER.search(text)
    if m and m.start() > 0:  # a message that is only a header keeps its text
        text = text[: m.start()]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


def remove_signature(text: str, tail_lines: int = 8) -> str:
    """Drop the signature: after a `-- ` line, "Sent from my ...", or a closing formula near the end."""
    text = _SENT_FROM.sub("", text)
    parts = re.split(r"^--\s*$", text, maxsplit=1, flags=re.M)
    text = parts[0]
    lines = text.rstrip().splitlines()
    for i in range(len(lines) - 1, max(-1, len(lines) - 1 - tail_lines), -1):
        if _CLOSING.match(lines[i]) and i > 0:
            return "\n".join(lines[:i])
    return text


def normalise_unicode(text: str) -> str:
    """NFKC, typographic quotes/dashes to ASCII, no-break and zero-width spaces removed."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces/tabs, strip lines, at most one blank line in a row."""
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_email(text: str, subject: str | None = None, quoted: bool = True, signature: bool = True) -> str:
    """The full cleaning chain; the subject (if any, minus RE:/TR:/FW:) is prepended as the first line.

    Args:
        text: the raw body (plain text or HTML).
        subject: optional subject line.
        quoted: remove quoted replies / forwarded history.
        signature: remove the signature block.
    """
    if text is None or (isinstance(text, float) and text != text):
        text = ""
    out = normalise_unicode(html_to_text(str(text)))
    if quoted:
        out = remove_quoted_reply(out)
    if signature:
        out = remove_signature(out)
    out = normalise_whitespace(out)
    if subject is not None and not (isinstance(subject, float) and subject != subject):
        subj = re.sub(r"^\s*(?:(?:re|tr|fw|fwd|aw)\s*:\s*)+", "", normalise_unicode(str(subject)), flags=re.I).strip()
        if subj and not re.fullmatch(r"\(?(?:sans objet|no subject)\)?", subj, re.I):
            out = f"{subj}\n{out}" if out else subj
    return out
