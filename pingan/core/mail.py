"""Mail intake decisions (docs/mail.md): which unit and material kind a mail speaks for, and
which mails are not submissions at all. Pure: headers arrive as text, dates are passed in.

Subject pattern: ``【材料类别】单位编码 其余随意``, e.g. ``【自查报告】JX-001 某某小学``. The
material kind is a gate's deliverable (``self_check``), its key (``self-check``) or its
name up to the first bracket (``自查报告``). The subject wins over the sender's address when
both name a unit; a sender who is the contact of exactly one unit needs no code in the
subject, and one who is the contact of one unit owing one kind of file at the moment needs
no kind either.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from pingan.core.campaign.codes import CODE_PATTERN
from pingan.core.campaign.model import Campaign

# 【…】 or [ … ] then, after optional spaces or punctuation, a unit code.
_SUBJECT = re.compile(
    rf"^\s*(?:(?:回复|答复|转发|re|fw|fwd)\s*[:：]\s*)*[【\[]\s*(?P<kind>[^】\]]{{1,80}}?)\s*[】\]]"
    rf"\s*[:：,，、\-—\s]*(?P<unit>{CODE_PATTERN})?",
    re.IGNORECASE,
)
_NAME_CUT = re.compile(r"[（(]")
# In the subject of every receipt (config/templates/mail-receipt.txt.j2): a mail whose subject
# carries it is a receipt or an answer to one.
RECEIPT_MARK = "报送回执"
# Auto-Submitted values that mark a machine's mail (RFC 3834); "no" is a person's.
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


@dataclass(frozen=True, slots=True)
class SubjectClaim:
    """What a subject says: the material kind (a deliverable key, or None when the bracket
    names no known kind) and the unit code it names, if any."""

    kind: str | None
    kind_text: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class Match:
    """The unit and kind a mail answers, or why none: (reason code, Chinese reason)."""

    unit: str | None
    kind: str | None
    problem: tuple[str, str] | None = None


def kind_aliases(campaign: Campaign) -> dict[str, str]:
    """Every spelling of a material kind in a subject (case-folded) → its deliverable key."""
    aliases: dict[str, str] = {}
    for gate in campaign.gates:
        short = _NAME_CUT.split(gate.name, maxsplit=1)[0].strip()
        for alias in (gate.deliverable, gate.key, gate.name, short):
            if alias:
                aliases.setdefault(alias.casefold(), gate.deliverable)
    return aliases


def read_subject(subject: str, aliases: Mapping[str, str]) -> SubjectClaim:
    found = _SUBJECT.match(subject or "")
    if found is None:
        return SubjectClaim(None, None, None)
    text = found.group("kind").strip()
    return SubjectClaim(aliases.get(text.casefold()), text, found.group("unit"))


def match_mail(
    claim: SubjectClaim,
    sender_units: Sequence[str],
    owed_kinds: Mapping[str, Collection[str]],
) -> Match:
    """Decide the unit and kind. sender_units: the units whose contacts use the sender's
    address; owed_kinds: for those and the subject's unit, the kinds open to it now."""
    if claim.kind_text is not None and claim.kind is None:
        return Match(
            None, None, ("mail_unknown_kind", f"邮件标题中的材料类别「{claim.kind_text}」无法识别")
        )
    unit = claim.unit
    if unit is None:
        if not sender_units:
            return Match(None, claim.kind, ("mail_unknown_sender", _UNKNOWN_SENDER))
        if len(sender_units) > 1:
            return Match(None, claim.kind, ("mail_ambiguous_sender", _AMBIGUOUS))
        unit = sender_units[0]
    kind = claim.kind
    if kind is None:
        open_kinds = sorted(owed_kinds.get(unit, ()))
        if len(open_kinds) != 1:
            return Match(unit, None, ("mail_no_kind", _NO_KIND))
        kind = open_kinds[0]
    return Match(unit, kind)


_UNKNOWN_SENDER = (
    "发件邮箱未在名册中登记，邮件标题也未注明单位编码；请按“【材料类别】单位编码 单位名称”"
    "填写标题后重新发送"
)
_AMBIGUOUS = (
    "发件邮箱登记为多个单位的联系邮箱，请在邮件标题中注明单位编码（“【材料类别】单位编码”）"
)
_NO_KIND = "无法确定所报材料类别，请在邮件标题中注明（如“【自查报告】单位编码 单位名称”）"


def normalise_address(address: str) -> str:
    """An address as compared with the roster: trimmed and case-folded."""
    return address.strip().strip("<>").casefold()


def is_automatic(headers: Mapping[str, str], own_addresses: Collection[str]) -> bool:
    """A machine's mail or our own (receipts bounced or auto-answered): never a submission."""
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return True
    if headers.get("precedence", "").strip().lower() in _AUTO_PRECEDENCE:
        return True
    if headers.get("x-autoreply") or headers.get("x-autorespond"):
        return True
    # Our own receipts (apprise names the application) and answers to them.
    if headers.get("x-application", "").strip().lower() == "pingan":
        return True
    if RECEIPT_MARK in headers.get("subject", ""):
        return True
    sender = normalise_address(headers.get("from-address", ""))
    own = {normalise_address(a) for a in own_addresses if a}
    return bool(sender and sender in own)
