"""Per-item status (``pingan status --items``): one line per obligation of an active unit —
its status, due date, working days overdue, ladder level, the next rung and the day it is
reached, and the last message sent about it (to whom, on which channels, whether seen).

Streamed: one SELECT read with ``yield_per`` (a server-side cursor on PostgreSQL), so a
million cells never sit in memory; what every row shares (the working-day calendar, the
latest digest each supervisor received) is a few hundred rows read once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import DomainRow, GateRow, WorkdayRow
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.messages.rungs import Rungs
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.status import obligation_domain_expr
from pingan.adapters.db.units import UnitRow
from pingan.core.campaign import Campaign
from pingan.core.gates import STATUSES, Ladder
from pingan.core.problems import InputError, Problem

# The channel names of pingan.adapters.channels (which the database layer may not import).
CHANNELS = ("email", "wecom", "dingtalk", "webhook", "file")
YIELD_PER = 2000
PENDING = ("not_open", "open", "due_soon", "overdue")


@dataclass(frozen=True)
class ItemFilter:
    """Which items to list; None means any. ``village`` is a village's code or name."""

    domain: str | None = None
    village: str | None = None
    level: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class _Shared:
    """What every row's derived fields need: the ladder, the calendar, who hears of a rung,
    and each supervisor's latest digest actually sent."""

    ladder: Ladder
    first_day: Mapping[int, date]  # working-day ordinal -> the day it is reached
    coordinator: Mapping[str, Any] | None
    # Recipient unit id -> its latest sent digest: {"day": date, "message": the JSON}.
    digests: Mapping[int, dict[str, Any]]
    # (target, working days overdue) of the first rung that tells a lead unit or the
    # coordinator: from that day on, their digests list the item.
    told_after: tuple[tuple[str, int], ...]


def _problem(field: str, text: str) -> InputError:
    return InputError([Problem("参数", field, text)])


def _resolve(session: Session, campaign: Campaign, cid: int, f: ItemFilter) -> list[Any]:
    """The WHERE terms of the filter; a clear refusal for a filter that names nothing."""
    terms: list[Any] = []
    if f.status is not None:
        if f.status not in STATUSES:
            raise _problem("--status", f"未知状态 {f.status}（可选：{'、'.join(STATUSES)}）")
        terms.append(ObligationRow.status == f.status)
    if f.level is not None:
        if f.level < 0:
            raise _problem("--level", "督办级次不能为负数")
        terms.append(ObligationRow.escalation_level == f.level)
    if f.domain is not None:
        dom = session.scalar(
            select(DomainRow.id).where(DomainRow.campaign_id == cid, DomainRow.key == f.domain)
        )
        if dom is None:
            known = "、".join(d.key for d in campaign.domains)
            raise _problem("--domain", f"领域 {f.domain[:40]} 不存在（可选：{known}）")
        terms.append(obligation_domain_expr() == dom)
    if f.village is not None:
        ids = list(
            session.scalars(
                select(UnitRow.id).where(
                    UnitRow.campaign_id == cid,
                    UnitRow.kind == "village",
                    or_(UnitRow.code == f.village, UnitRow.name == f.village),
                )
            )
        )
        if not ids:
            raise _problem("--village", f"村（社区）{f.village[:40]} 不在本创建活动中")
        terms.append(or_(UnitRow.village_id.in_(ids), UnitRow.id.in_(ids)))
    return terms


def _channel_flags(prefix: str) -> list[Any]:
    return [
        func.max(case((DeliveryRow.channel == c, 1), else_=0)).label(f"{prefix}{c}")
        for c in CHANNELS
    ]


def _own_last(cid: int) -> Any:
    """Per obligation: its latest notification that reached someone (state ``sent``)."""
    return (
        select(
            NotificationRow.obligation_id.label("oid"), func.max(NotificationRow.id).label("nid")
        )
        .where(
            NotificationRow.campaign_id == cid,
            NotificationRow.state == "sent",
            NotificationRow.obligation_id.is_not(None),
        )
        .group_by(NotificationRow.obligation_id)
        .subquery()
    )


def _sent_channels(cid: int) -> Any:
    """Per notification: which channels delivered it."""
    return (
        select(DeliveryRow.notification_id.label("nid"), *_channel_flags("ch_"))
        .where(DeliveryRow.campaign_id == cid, DeliveryRow.state == "sent")
        .group_by(DeliveryRow.notification_id)
        .subquery()
    )


def _items_query(cid: int, terms: list[Any]) -> Any:
    village, sup, recipient = (aliased(UnitRow) for _ in range(3))
    last, chans = _own_last(cid), _sent_channels(cid)
    due_wd = aliased(WorkdayRow)
    dom = obligation_domain_expr().label("domain_id")
    return (
        select(
            ObligationRow.status,
            ObligationRow.due_on,
            ObligationRow.done_on,
            ObligationRow.days_overdue,
            ObligationRow.escalation_level,
            UnitRow.code.label("unit_code"),
            UnitRow.name.label("unit_name"),
            UnitRow.kind.label("unit_kind"),
            UnitRow.supervisor_id,
            dom,
            village.code.label("village_code"),
            village.name.label("village_name"),
            sup.code.label("sup_code"),
            sup.name.label("sup_name"),
            GateRow.key.label("gate_key"),
            GateRow.name.label("gate_name"),
            due_wd.ordinal.label("due_ordinal"),
            NotificationRow.kind.label("msg_kind"),
            NotificationRow.level.label("msg_level"),
            NotificationRow.planned_on.label("msg_on"),
            NotificationRow.sent_at.label("msg_sent_at"),
            recipient.code.label("msg_to_code"),
            recipient.name.label("msg_to_name"),
            *(getattr(chans.c, f"ch_{c}") for c in CHANNELS),
        )
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .join(GateRow, GateRow.id == ObligationRow.gate_id)
        .outerjoin(village, village.id == UnitRow.village_id)
        .outerjoin(sup, sup.id == UnitRow.supervisor_id)
        .outerjoin(due_wd, and_(due_wd.campaign_id == cid, due_wd.day == ObligationRow.due_on))
        .outerjoin(last, last.c.oid == ObligationRow.id)
        .outerjoin(NotificationRow, NotificationRow.id == last.c.nid)
        .outerjoin(recipient, recipient.id == NotificationRow.recipient_unit_id)
        .outerjoin(chans, chans.c.nid == last.c.nid)
        .where(ObligationRow.campaign_id == cid, UnitRow.status == "active", *terms)
    )


def _shared(session: Session, campaign: Campaign, cid: int) -> _Shared:
    coordinator = session.execute(
        select(UnitRow.id, UnitRow.code, UnitRow.name).where(
            UnitRow.campaign_id == cid, UnitRow.kind == "coordinator"
        )
    ).first()
    ladder = Ladder.of(campaign)
    firsts = ((t, ladder.first_level(t)) for t in ("lead", "coordinator"))
    return _Shared(
        ladder,
        Rungs.load(session, campaign, cid).first_day,
        coordinator._asdict() if coordinator else None,
        _latest_digests(session, cid),
        tuple((t, ladder.threshold(k)) for t, k in firsts if k is not None),
    )


def _latest_digests(session: Session, cid: int) -> dict[int, dict[str, Any]]:
    """Each recipient's latest digest that reached it: a few rows, one per supervisor."""
    latest = (
        select(func.max(NotificationRow.id))
        .where(
            NotificationRow.campaign_id == cid,
            NotificationRow.kind == "digest",
            NotificationRow.state == "sent",
        )
        .group_by(NotificationRow.recipient_unit_id)
    )
    chans = _sent_channels(cid)
    rows = session.execute(
        select(
            NotificationRow.recipient_unit_id,
            NotificationRow.level,
            NotificationRow.planned_on,
            NotificationRow.sent_at,
            UnitRow.code,
            UnitRow.name,
            *(getattr(chans.c, f"ch_{c}") for c in CHANNELS),
        )
        .join(UnitRow, UnitRow.id == NotificationRow.recipient_unit_id)
        .outerjoin(chans, chans.c.nid == NotificationRow.id)
        .where(NotificationRow.id.in_(latest))
    )
    return {
        r.recipient_unit_id: {
            "day": r.planned_on,
            "message": _message(
                "digest", r.level, r.planned_on, r.sent_at, r.code, r.name, _channels(r)
            ),
        }
        for r in rows
    }


def _channels(r: Any) -> list[str]:
    return [c for c in CHANNELS if getattr(r, f"ch_{c}", None)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _message(
    kind: str, level: int, on: date, sent_at: datetime | None, code: str, name: str, ch: list[str]
) -> dict[str, Any]:
    # No read receipts exist yet: whether a message was seen is unknown, never "no".
    return {
        "kind": kind,
        "level": level,
        "on": on.isoformat(),
        "sent_at": _iso(sent_at),
        "to": {"code": code, "name": name},
        "channels": ch,
        "seen": None,
    }


def _reach(shared: _Shared, r: Any, after: int) -> date | None:
    """The day an item still owed is ``after`` working days overdue (None past the
    calendar): the day it reaches the rung of that threshold."""
    if r.due_ordinal is None:
        return None
    return shared.first_day.get(int(r.due_ordinal) + after)


def _next_rung(shared: _Shared, r: Any) -> dict[str, Any] | None:
    """The rung an item still owed reaches next: its level, whom it tells and on which day."""
    if r.status not in PENDING:
        return None
    ladder, level = shared.ladder, int(r.escalation_level) + 1
    try:
        after = ladder.threshold(level)
    except ValueError:
        return None  # the ladder has run out and does not repeat
    target = ladder.target(level)
    to: Mapping[str, Any] | None
    if target == "contact":
        to = {"code": r.unit_code, "name": r.unit_name}
    elif target == "lead":
        to = {"code": r.sup_code, "name": r.sup_name} if r.sup_code else None
    else:
        to = shared.coordinator
    on = _reach(shared, r, after)
    return {
        "level": level,
        "target": target,
        "to": {"code": to["code"], "name": to["name"]} if to else None,
        "after_days": after,
        "on": on.isoformat() if on else None,
    }


def _digest_about(shared: _Shared, r: Any) -> list[dict[str, Any]]:
    """The latest digests that listed this item: a supervisor's digest lists every item
    that had reached its rung and was still owed on the day the digest speaks of."""
    out: list[dict[str, Any]] = []
    if r.status == "waived":
        return out
    for target, after in shared.told_after:
        rid = r.supervisor_id if target == "lead" else _id(shared.coordinator)
        digest = shared.digests.get(rid) if rid is not None else None
        if digest is None:
            continue
        on = digest["day"]
        reached = _reach(shared, r, after)
        if reached is not None and reached <= on and (r.done_on is None or r.done_on > on):
            out.append(digest["message"])
    return out


def _id(unit: Mapping[str, Any] | None) -> int | None:
    return int(unit["id"]) if unit else None


def _last_message(shared: _Shared, r: Any) -> dict[str, Any] | None:
    found = _digest_about(shared, r)
    if r.msg_kind is not None:
        found.append(
            _message(
                r.msg_kind,
                r.msg_level,
                r.msg_on,
                r.msg_sent_at,
                r.msg_to_code,
                r.msg_to_name,
                _channels(r),
            )
        )
    if len(found) < 2:
        return found[0] if found else None
    return max(found, key=lambda m: (m["on"], m["sent_at"] or ""))


def _village(r: Any) -> dict[str, str] | None:
    """The village an item belongs to; a village's own items belong to it."""
    if r.unit_kind == "village":
        return {"code": r.unit_code, "name": r.unit_name}
    return {"code": r.village_code, "name": r.village_name} if r.village_code else None


def _item(shared: _Shared, domains: Mapping[int, str], r: Any) -> dict[str, Any]:
    return {
        "unit": {"code": r.unit_code, "name": r.unit_name, "kind": r.unit_kind},
        "domain": domains.get(r.domain_id),
        "village": _village(r),
        "gate": {"key": r.gate_key, "name": r.gate_name},
        "status": r.status,
        "due_on": r.due_on.isoformat(),
        "done_on": r.done_on.isoformat() if r.done_on else None,
        "days_overdue": int(r.days_overdue),
        "level": int(r.escalation_level),
        "next_rung": _next_rung(shared, r),
        "last_message": _last_message(shared, r),
    }


def iter_items(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    item_filter: ItemFilter | None = None,
    *,
    worst: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Each obligation of an active unit as a JSON-ready dict, in unit-code then due-date
    order — or, with ``worst``, the ``worst`` most overdue items. Reads the statuses as
    they are stored: evaluate first for another day."""
    terms = _resolve(session, campaign, campaign_id, item_filter or ItemFilter())
    shared = _shared(session, campaign, campaign_id)
    domains = dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    query = _items_query(campaign_id, terms)
    if worst is not None:
        query = query.where(ObligationRow.status == "overdue").order_by(
            ObligationRow.days_overdue.desc(), UnitRow.code, GateRow.id
        )
        query = query.limit(worst)
    else:
        query = query.order_by(UnitRow.code, ObligationRow.due_on, GateRow.id)
    for r in session.execute(query.execution_options(yield_per=YIELD_PER)):
        yield _item(shared, domains, r)


def overdue_by_level(session: Session, campaign_id: int) -> dict[int, int]:
    """{ladder level: overdue items of active units}, as stored."""
    return {
        int(level): int(n)
        for level, n in session.execute(
            select(ObligationRow.escalation_level, func.count())
            .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
            .where(
                ObligationRow.campaign_id == campaign_id,
                ObligationRow.status == "overdue",
                UnitRow.status == "active",
            )
            .group_by(ObligationRow.escalation_level)
            .order_by(ObligationRow.escalation_level)
        )
    }
