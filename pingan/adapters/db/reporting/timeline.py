"""How the campaign got here: obligations per status day by day, late items per village, and
the notifications planned so far."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.reporting.common import (
    count_if,
    done_late,
    overdue,
    submission_gates,
    workday_ordinals,
)
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.report.data import NO_CHANNEL, Burndown, ChannelCount, VillageLate
from pingan.core.campaign import Campaign
from pingan.core.gates import STATUSES, Status, status_of


def burndown(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    as_of: date,
    ordinals: Mapping[date, int] | None = None,
) -> Burndown:
    """Per day from the first phase's start to as_of: obligations per status (just as_of
    when the report is dated before the campaign starts).

    One GROUP BY collapses the obligations to their distinct date patterns (a few per gate
    and completion day, whatever the number of cells); gates.status_of, the specification
    the tick's UPDATE follows, then classifies each pattern on each day.
    """
    ords = ordinals if ordinals is not None else workday_ordinals(session, campaign_id, as_of)
    start = min(campaign.starts_on, as_of)
    days = tuple(start + timedelta(days=i) for i in range((as_of - start).days + 1))
    # A completion after as_of is no completion in the window: fold those into one group.
    done = case((ObligationRow.done_on <= as_of, ObligationRow.done_on), else_=None).label("done")
    groups = session.execute(
        select(
            ObligationRow.opens_on, ObligationRow.due_on, done, ObligationRow.waived, func.count()
        )
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(ObligationRow.campaign_id == campaign_id, UnitRow.status == "active")
        .group_by(ObligationRow.opens_on, ObligationRow.due_on, done, ObligationRow.waived)
    ).all()
    window = max(campaign.reminders.days_before)
    series: dict[Status, list[int]] = {s: [0] * len(days) for s in STATUSES}
    day_ords = [ords.get(d, 0) for d in days]
    for opens_on, due_on, done_on, waived, n in groups:
        due_ord = ords.get(due_on, 0)
        done_day = _as_date(done_on)
        for i, d in enumerate(days):
            s = status_of(
                as_of=d,
                opens_on=opens_on,
                due_on=due_on,
                done_on=done_day,
                waived=bool(waived),
                wd_offset=day_ords[i] - due_ord,
                window=window,
            )
            series[s][i] += int(n)
    return Burndown(days, {s: tuple(v) for s, v in series.items()})


def _as_date(value: Any) -> date | None:
    # A CASE expression loses the column type: SQLite hands the date back as text.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def late_by_village(
    session: Session, campaign_id: int, as_of: date, direct: str
) -> tuple[VillageLate, ...]:
    """Late items (still overdue, or submitted late) per village or community.

    A cell counts in its village, a village's own items in itself, and the organisation's
    own units (lead units, the coordinator) under one ``direct`` line (e.g. 区直属单位).
    Most overdue first.
    """
    place = case((UnitRow.kind == "village", UnitRow.id), else_=UnitRow.village_id).label("place")
    rows = session.execute(
        select(place, count_if(overdue(as_of)), count_if(done_late(as_of)))
        .select_from(ObligationRow)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(
            ObligationRow.campaign_id == campaign_id,
            UnitRow.status == "active",
            submission_gates(campaign_id),
            or_(overdue(as_of), done_late(as_of)),
        )
        .group_by(place)
    ).all()
    villages = {
        vid: (code, name)
        for vid, code, name in session.execute(
            select(UnitRow.id, UnitRow.code, UnitRow.name).where(
                UnitRow.campaign_id == campaign_id, UnitRow.kind == "village"
            )
        )
    }
    out = []
    for vid, overdue_n, late_n in rows:
        code, name = villages.get(vid, (None, direct))
        out.append(VillageLate(code, name, int(overdue_n), int(late_n)))
    out.sort(key=lambda v: (-v.overdue, -v.done_late, v.code or "~"))
    return tuple(out)


def notification_counts(
    session: Session, campaign_id: int, as_of: date
) -> tuple[tuple[ChannelCount, ...], dict[str, int]]:
    """(deliveries per channel and state, notifications per kind) for messages planned by
    as_of. A notification with no delivery at all (no usable contact, or not yet expanded)
    is counted once under NO_CHANNEL with its own state."""
    planned = and_(NotificationRow.campaign_id == campaign_id, NotificationRow.planned_on <= as_of)
    counts = [
        ChannelCount(channel, state, int(n))
        for channel, state, n in session.execute(
            select(DeliveryRow.channel, DeliveryRow.state, func.count())
            .join(NotificationRow, NotificationRow.id == DeliveryRow.notification_id)
            .where(planned)
            .group_by(DeliveryRow.channel, DeliveryRow.state)
        )
    ]
    counts += [
        ChannelCount(NO_CHANNEL, state, int(n))
        for state, n in session.execute(
            select(NotificationRow.state, func.count())
            .where(planned, ~exists().where(DeliveryRow.notification_id == NotificationRow.id))
            .group_by(NotificationRow.state)
        )
    ]
    counts.sort(key=lambda c: (c.channel, c.state))
    kinds = {
        kind: int(n)
        for kind, n in session.execute(
            select(NotificationRow.kind, func.count())
            .where(planned)
            .group_by(NotificationRow.kind)
            .order_by(NotificationRow.kind)
        )
    }
    return tuple(counts), kinds
