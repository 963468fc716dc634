"""Render planned notifications (for preview and delivery) from their rows: the kind and
level say which template, the obligation, recipient or award say what it is about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from pingan.adapters.db.campaigns import GateRow, WorkdayRow
from pingan.adapters.db.links import FIRST_VERSION, PortalLinkRow
from pingan.adapters.db.messages.awards import award_fields
from pingan.adapters.db.messages.common import RenderedMessage, link_moment, message_common
from pingan.adapters.db.messages.digest import digest_context
from pingan.adapters.db.messages.links import LINK_PLACEHOLDER
from pingan.adapters.db.messages.rungs import Rungs
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow
from pingan.adapters.render.messages import render
from pingan.core.awards import issuer_name
from pingan.core.campaign import Campaign
from pingan.core.links import PortalSettings, personal_link

Context = dict[str, Any]


@dataclass(frozen=True)
class _Batch:
    """What rendering one batch of notifications shares."""

    session: Session
    campaign: Campaign
    campaign_id: int
    rungs: Rungs
    common: Context
    override: str | None
    portal: PortalSettings | None
    awards: dict[int, Context]  # by awarded unit, for award notices
    stored: bool  # rendered to be stored: links as a placeholder (messages.links)


def render_notifications(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    ids: Sequence[int],
    today: date,
    templates_dir: Path | None = None,
    *,
    portal: PortalSettings | None,
    stored: bool = False,
) -> list[RenderedMessage]:
    """Render planned notifications. Each text addressed to a unit (not the coordinator)
    carries the unit's personal portal link (``portal_link``) when ``portal`` has the base
    URL and secret configured; else (and with no ``portal``) it is None. A text rendered to
    be ``stored`` carries a placeholder instead, which sending fills (messages.links)."""
    if not ids:
        return []
    rows = _rows(session, ids)
    awarded = {r.recipient_unit_id for r in rows if _is_award_notice(r)}
    batch = _Batch(
        session,
        campaign,
        campaign_id,
        Rungs.load(session, campaign, campaign_id),
        message_common(campaign, today),
        str(templates_dir) if templates_dir else None,
        portal,
        _awards(session, campaign, campaign_id, awarded, portal),
        stored,
    )
    return [_render(batch, r) for r in rows]


def _awards(
    session: Session,
    campaign: Campaign,
    campaign_id: int,
    awarded: set[int],
    portal: PortalSettings | None,
) -> dict[int, Context]:
    """The awarded units' awards; the verification URL needs only the portal's public
    address (no secret: it is the certificate's public page, not a personal link)."""
    if not awarded:
        return {}
    base = portal.portal_base_url if portal is not None else None
    return award_fields(session, campaign, campaign_id, awarded, base)


def _rows(session: Session, ids: Sequence[int]) -> Sequence[Any]:
    recipient = aliased(UnitRow)
    supervisor = aliased(UnitRow)
    due_wd, planned_wd = aliased(WorkdayRow), aliased(WorkdayRow)
    return session.execute(
        select(
            NotificationRow.id,
            NotificationRow.kind,
            NotificationRow.level,
            NotificationRow.recipient_unit_id,
            NotificationRow.planned_on,
            recipient.code,
            recipient.name,
            recipient.kind.label("recipient_kind"),
            GateRow.name.label("gate_name"),
            ObligationRow.due_on,
            ObligationRow.wd_offset,
            (planned_wd.ordinal - due_wd.ordinal).label("offset_then"),
            due_wd.ordinal.label("due_ordinal"),
            supervisor.name.label("supervisor_name"),
            func.coalesce(PortalLinkRow.version, FIRST_VERSION).label("link_version"),
        )
        .join(recipient, recipient.id == NotificationRow.recipient_unit_id)
        .outerjoin(PortalLinkRow, PortalLinkRow.unit_id == recipient.id)
        .outerjoin(ObligationRow, ObligationRow.id == NotificationRow.obligation_id)
        .outerjoin(GateRow, GateRow.id == ObligationRow.gate_id)
        .outerjoin(supervisor, supervisor.id == recipient.supervisor_id)
        .outerjoin(
            due_wd,
            and_(
                due_wd.campaign_id == NotificationRow.campaign_id,
                due_wd.day == ObligationRow.due_on,
            ),
        )
        .outerjoin(
            planned_wd,
            and_(
                planned_wd.campaign_id == NotificationRow.campaign_id,
                planned_wd.day == NotificationRow.planned_on,
            ),
        )
        .where(NotificationRow.id.in_(list(ids)))
        .order_by(NotificationRow.recipient_unit_id, NotificationRow.id)
    ).all()


def _is_award_notice(r: Any) -> bool:
    """An awarded cell's own notice (level 1 is the lead unit's list, rendered when planned)."""
    return bool(r.kind == "award" and r.level == 0)


def _render(batch: _Batch, r: Any) -> RenderedMessage:
    # A message speaks of the day it was planned for, even when sent later.
    common = {**batch.common, "today": r.planned_on or batch.common["today"]}
    common["portal_link"] = _link(batch, r, common["today"])
    variants: tuple[str, ...] = ()
    if r.kind == "digest":
        ctx = _digest(batch, r, common)
        variants = ("coordinator" if ctx.get("is_coordinator") else "lead",)
    elif _is_award_notice(r):
        ctx = _award(batch, r, common)
    else:
        ctx = _item(batch, r, common)
    if r.kind == "escalation":
        # After the whole ladder has run once the coordinator already knows: say so.
        variants = (str(r.level), "repeat" if r.level > len(batch.rungs.ladder.steps) else "first")
    subject, body = render(r.kind, ctx, batch.override, variants)
    return RenderedMessage(
        r.id, r.recipient_unit_id, r.code, r.name, r.kind, r.level, subject, body
    )


def _link(batch: _Batch, r: Any, day: date) -> str | None:
    if batch.portal is None or r.recipient_kind == "coordinator":
        return None  # the coordinator owes nothing: its page would be empty
    moment = link_moment(day, batch.campaign.timezone)
    if batch.stored:
        # Only when a link would be there: the placeholder stands for it until sending.
        link = personal_link(batch.campaign.code, r.code, r.link_version, moment, batch.portal)
        return LINK_PLACEHOLDER if link else None
    return personal_link(batch.campaign.code, r.code, r.link_version, moment, batch.portal)


# --- contexts by kind -----------------------------------------------------------------------


def _digest(batch: _Batch, r: Any, common: Context) -> Context:
    items = digest_context(
        batch.session,
        batch.campaign_id,
        batch.rungs.ladder,
        r.recipient_unit_id,
        common["today"],
        batch.campaign.wording,
    )
    return {
        **common,
        **items,
        "recipient": {"name": r.name},
    }


def _award(batch: _Batch, r: Any, common: Context) -> Context:
    return {
        **common,
        "coordinator": issuer_name(batch.campaign, batch.campaign.coordinator.name),
        "unit": {"name": r.name, "code": r.code},
        **batch.awards[r.recipient_unit_id],
    }


def _item(batch: _Batch, r: Any, common: Context) -> Context:
    """A reminder or escalation: one obligation of the recipient's, as it stood on the day
    the message speaks of (``today``, its planned day) — never a later tick's figures."""
    offset = r.offset_then if r.offset_then is not None else r.wd_offset
    days_overdue = max(offset, 0)
    return {
        **common,
        "unit": {"name": r.name, "code": r.code},
        "gate": {"name": r.gate_name},
        "due_on": r.due_on,
        "days_left": max(-offset, 0),
        "days_overdue": days_overdue,
        "level": r.level,
        "supervisor": {"name": r.supervisor_name or common["office"]["name"]},
        **batch.rungs.context(r.level, days_overdue, r.due_ordinal, r.supervisor_name),
    }
