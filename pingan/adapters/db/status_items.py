"""Per-item status (``pingan status --items``): one line per obligation of an active unit —
its status, due date, working days overdue, ladder level, the next rung and the day it is
reached, and the last message sent about it (to whom, on which channels, whether seen).

Streamed: one SELECT read with ``yield_per`` (a server-side cursor on PostgreSQL), so a
million cells never sit in memory; what every row shares (the working-day calendar, the
latest digest each supervisor received) is a few hundred rows read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import DomainRow, GateRow, WorkdayRow
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.links import LinkViewRow
from pingan.adapters.db.messages.rungs import Rungs
from pingan.adapters.db.notifications import TEXT_KEYED, NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.status import obligation_domain_expr
from pingan.adapters.db.status_item_rows import (
    CHANNELS,
    Shared,
    channels_of,
    item_of,
    message_of,
)
from pingan.adapters.db.units import UnitRow
from pingan.adapters.db.worst_items import Overdue, worst_item_ids
from pingan.core.campaign import Campaign
from pingan.core.gates import STATUSES, Ladder
from pingan.core.problems import InputError, Problem

YIELD_PER = 2000


@dataclass(frozen=True)
class ItemFilter:
    """Which items to list; None means any. ``village`` is a village's code or name."""

    domain: str | None = None
    village: str | None = None
    level: int | None = None
    status: str | None = None


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


def _own_last(cid: int, only: list[int] | None) -> Any:
    """Per obligation (of ``only``, when given): its latest notification that reached
    someone (state ``sent``)."""
    narrow = [NotificationRow.obligation_id.in_(only)] if only is not None else []
    return (
        select(
            NotificationRow.obligation_id.label("oid"), func.max(NotificationRow.id).label("nid")
        )
        .where(
            NotificationRow.campaign_id == cid,
            NotificationRow.state == "sent",
            NotificationRow.obligation_id.is_not(None),
            *narrow,
        )
        .group_by(NotificationRow.obligation_id)
        .subquery()
    )


def _sent_channels(cid: int, of: Any = None) -> Any:
    """Per notification (of the ``of`` subquery's ``nid``, when given): which channels
    delivered it."""
    narrow = [DeliveryRow.notification_id.in_(select(of.c.nid))] if of is not None else []
    return (
        select(DeliveryRow.notification_id.label("nid"), *_channel_flags("ch_"))
        .where(DeliveryRow.campaign_id == cid, DeliveryRow.state == "sent", *narrow)
        .group_by(DeliveryRow.notification_id)
        .subquery()
    )


def _items_query(cid: int, terms: list[Any], only: list[int] | None = None) -> Any:
    """The items; with ``only`` (obligation ids) just those, and messages looked up for
    them alone."""
    village, sup, recipient = (aliased(UnitRow) for _ in range(3))
    last = _own_last(cid, only)
    chans = _sent_channels(cid, last if only is not None else None)
    if only is not None:
        terms = [*terms, ObligationRow.id.in_(only)]
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
            LinkViewRow.last_at.label("msg_viewed_at"),
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
        .outerjoin(LinkViewRow, LinkViewRow.unit_id == NotificationRow.recipient_unit_id)
        .outerjoin(chans, chans.c.nid == last.c.nid)
        .where(ObligationRow.campaign_id == cid, UnitRow.status == "active", *terms)
    )


def _shared(session: Session, campaign: Campaign, cid: int) -> Shared:
    coordinator = session.execute(
        select(UnitRow.id, UnitRow.code, UnitRow.name).where(
            UnitRow.campaign_id == cid, UnitRow.kind == "coordinator"
        )
    ).first()
    ladder = Ladder.of(campaign)
    firsts = ((t, ladder.first_level(t)) for t in ("lead", "coordinator"))
    return Shared(
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
            # Digests are about no item: the recipient index covers just such rows.
            text(TEXT_KEYED),
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
            LinkViewRow.last_at,
            *(getattr(chans.c, f"ch_{c}") for c in CHANNELS),
        )
        .join(UnitRow, UnitRow.id == NotificationRow.recipient_unit_id)
        .outerjoin(LinkViewRow, LinkViewRow.unit_id == NotificationRow.recipient_unit_id)
        .outerjoin(chans, chans.c.nid == NotificationRow.id)
        .where(NotificationRow.id.in_(latest))
    )
    return {
        r.recipient_unit_id: {
            "day": r.planned_on,
            "message": message_of(
                "digest",
                r.level,
                r.planned_on,
                r.sent_at,
                r.code,
                r.name,
                channels_of(r),
                r.last_at,
            ),
        }
        for r in rows
    }


def iter_items(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    item_filter: ItemFilter | None = None,
    *,
    worst: int | None = None,
    counted: Overdue | None = None,
) -> Iterator[dict[str, Any]]:
    """Each obligation of an active unit as a JSON-ready dict, in unit-code then due-date
    order — or, with ``worst``, the ``worst`` most overdue items (``counted``: the
    campaign's overdue counts, if already read). Reads the statuses as they are stored:
    evaluate first for another day."""
    terms = _resolve(session, campaign, campaign_id, item_filter or ItemFilter())
    shared = _shared(session, campaign, campaign_id)
    domains = dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    if worst is not None:
        # The few worst first, from the obligations alone; then their messages.
        top = worst_item_ids(session, campaign_id, terms, worst, counted)
        order = (ObligationRow.days_overdue.desc(), UnitRow.code, GateRow.id)
        query = _items_query(campaign_id, [], top).order_by(*order)
    else:
        query = _items_query(campaign_id, terms).order_by(
            UnitRow.code, ObligationRow.due_on, GateRow.id
        )
    for r in session.execute(query.execution_options(yield_per=YIELD_PER)):
        yield item_of(shared, domains, r)
