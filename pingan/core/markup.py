"""Escaping roster and operator text for each channel's markup.

A unit, person or reason is data, never markup: a unit named ``[点此领取](http://x)`` must
show those characters literally in a robot's markdown, a card and an HTML mail. One function
per markup; the channel that renders a markup calls the matching one on every piece of
roster or operator text it puts into it (never on the template's own markup).
"""

from __future__ import annotations

import html
import re

# Characters with a meaning in the markdown dialects WeCom and DingTalk robots and cards
# render (CommonMark plus <font>/<at> tags). A backslash escape works in both dialects.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#+\-!|~{}>=.])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e]")


def plain(text: str) -> str:
    """One line of text without control or direction-override characters."""
    return _INVISIBLE.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def markdown(text: str) -> str:
    """``text`` shown literally inside robot or card markdown, on one line.

    Every markdown-significant character is backslash-escaped and links cannot form:
    ``[x](http://evil)`` reads as typed. Bare URLs are broken by escaping their dots and
    colons' neighbours, so no renderer auto-links them either.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", plain(text))
    return escaped.replace("://", ":\u200b//")


def html_text(text: str) -> str:
    """``text`` shown literally in HTML (element content or a quoted attribute)."""
    return html.escape(plain(text), quote=True)


def _plain_lines(text: str) -> str:
    """Every line of ``text`` as ``plain`` makes it, joined by "\\n" (one pass over the
    whole text instead of one per line; "\\n" is neither invisible nor escaped)."""
    lines = _INVISIBLE.sub("", "\n".join(text.splitlines())).split("\n")
    return "\n".join(line.strip() for line in lines)


def markdown_lines(text: str) -> str:
    """Each line of ``text`` as ``markdown`` shows it, the line breaks kept as "\\n"."""
    escaped = _MD_SPECIAL.sub(r"\\\1", _plain_lines(text))
    return escaped.replace("://", ":\u200b//")


def html_lines(text: str, separator: str) -> str:
    """Each line of ``text`` as ``html_text`` shows it, joined by ``separator``."""
    return html.escape(_plain_lines(text), quote=True).replace("\n", separator)
