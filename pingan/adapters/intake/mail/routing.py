"""Which unit and kind each mail's attachments answer (pingan.core.mail decides; this looks
up the roster and the open obligations for a whole batch at once) → intake items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from pingan.adapters.db.intake import FileGate, Obligation, units_and_obligations
from pingan.adapters.intake.collect.model import IntakeRun, Item
from pingan.adapters.intake.mail.model import Decided
from pingan.adapters.intake.mail.parse import Attachment
from pingan.core.campaign import Campaign
from pingan.core.mail import kind_aliases, match_mail, read_subject

Kinds = Mapping[str, list[FileGate]]


def route(
    run: IntakeRun,
    campaign: Campaign,
    kinds: Kinds,
    senders: Mapping[str, Sequence[str]],
    mails: Sequence[Decided],
) -> None:
    """Set each open mail's unit and its items (one per attachment)."""
    aliases = kind_aliases(campaign)
    todo = [m for m in mails if not (m.ignored or m.refusal)]
    claims = {m.uid: read_subject(m.mail.subject, aliases) for m in todo}
    codes = {c for m in todo for c in senders.get(m.mail.sender, ())}
    codes |= {c.unit for c in claims.values() if c.unit}
    gate_ids = [g.id for gates in kinds.values() for g in gates]
    units, obligations = units_and_obligations(run.engine, run.campaign_id, codes, gate_ids)
    gate_kind = {g.id: kind for kind, gates in kinds.items() for g in gates}
    # Only the mail's own candidates (its sender's units and the subject's), once per day:
    # every unit of the batch for every mail made a batch of n mails cost n² look-ups.
    cache: dict[tuple[str, date], set[str]] = {}
    for m in todo:
        day = m.received_at.astimezone(run.received_local.tzinfo).date()
        claim = claims[m.uid]
        owed: dict[str, set[str]] = {}
        for code in {*senders.get(m.mail.sender, ()), *([claim.unit] if claim.unit else [])}:
            if code in units:
                if (code, day) not in cache:
                    cache[code, day] = _open_kinds(
                        gate_kind, obligations.get(units[code].id, []), day
                    )
                owed[code] = cache[code, day]
        match = match_mail(claim, senders.get(m.mail.sender, ()), owed)
        m.unit = match.unit
        m.items = [_item(m, a, match.unit, match.kind, match.problem) for a in m.mail.attachments]


def _open_kinds(
    gate_kind: Mapping[int, str], obligations: Sequence[Obligation], day: date
) -> set[str]:
    """The kinds the unit owes and may send now: those still outstanding, else (a unit
    sending again) those already done."""
    opened = [o for o in obligations if o.gate_id in gate_kind and o.opens_on <= day]
    pending = {gate_kind[o.gate_id] for o in opened if o.done_on is None}
    return pending or {gate_kind[o.gate_id] for o in opened}


def _item(
    m: Decided,
    a: Attachment,
    unit: str | None,
    kind: str | None,
    problem: tuple[str, str] | None,
) -> Item:
    return Item(
        rel=f"邮件/{m.mail.sender or '未知发件人'}/{a.name}",
        kind=kind or "",
        unit=unit or "",
        name=a.name,
        size=a.size,
        opener=a.open,
        remove=a.remove,
        submitted_by=m.mail.sender[:200] or None,
        problem=problem,
    )
