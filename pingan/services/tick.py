"""The daily tick's steps as plain functions over an engine; tasks and the CLI call these.

The outbox never holds messages for a status that was not committed: statuses commit
before planning on PostgreSQL, together with the plan on SQLite; a dry run does the same
work in one transaction and rolls it back.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.base import utcnow
from pingan.adapters.db.campaigns import CampaignRow, GateRow
from pingan.adapters.db.evaluate import CalendarNotLoaded, evaluate
from pingan.adapters.db.locks import LeaseLost, LockHeld, campaign_lock
from pingan.adapters.db.messages import RenderedMessage, render_notifications
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.planner import PlanSummary, plan_notifications
from pingan.adapters.db.session import ensure_schema
from pingan.adapters.db.status import status_report
from pingan.adapters.db.status_items import ItemFilter, iter_items
from pingan.adapters.db.units import UnitRow
from pingan.adapters.db.worst_items import overdue_counts
from pingan.adapters.outbox.routes import Route, planned_routes
from pingan.core.calendar import today_in
from pingan.core.campaign import Campaign, is_code, is_key
from pingan.core.links import PortalSettings
from pingan.core.problems import InputError, Problem


@dataclass(frozen=True)
class CampaignHandle:
    campaign_id: int
    campaign: Campaign


def open_campaign(engine: Engine, code: str) -> CampaignHandle:
    """The campaign as loaded into the database: workers need no YAML files."""
    ensure_schema(engine)
    row = None
    # A malformed code names no campaign; PostgreSQL would refuse one holding a NUL.
    if is_code(code):
        with Session(engine) as session:
            row = session.scalar(select(CampaignRow).where(CampaignRow.code == code))
    if row is None:
        raise InputError(
            [
                Problem(
                    "参数",
                    "campaign",
                    f"数据库中没有编码为 {_shown(code)} 的创建活动，请先执行 pingan load",
                )
            ]
        )
    return CampaignHandle(row.id, Campaign.model_validate(row.config))


WORST_ITEMS = 50  # items in the tick's artifact

# Column sizes of obligation.waived_reason and audit_event.actor.
MAX_REASON_CHARS = 500
MAX_ACTOR_CHARS = 100


def _shown(text: str) -> str:
    """Operator text in a message: cut short, invisible characters escaped."""
    cut = text if len(text) <= 40 else text[:40] + "…"
    return cut if cut.isprintable() else repr(cut)


def _text_problem(value: str, where: str, what: str, limit: int) -> Problem | None:
    if not value.strip():
        return Problem("参数", where, f"必须填写{what}")
    if len(value) > limit:
        return Problem("参数", where, f"{what}过长（{len(value)} 个字符，上限 {limit} 个）")
    if "\x00" in value:
        return Problem("参数", where, f"{what}中不得含有 NUL 字符")
    return None


def resolve_as_of(handle: CampaignHandle, as_of: date | None) -> date:
    return as_of or today_in(handle.campaign.timezone)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class TickResult:
    as_of: date
    dry_run: bool
    plan: PlanSummary
    status: dict[str, Any]
    previews: list[RenderedMessage] = field(default_factory=list)
    # The WORST_ITEMS most overdue items (status_items' shape) and overdue items per level,
    # for the tick's artifact: bounded whatever the number of cells.
    worst: list[dict[str, Any]] = field(default_factory=list)
    overdue_by_level: dict[int, int] = field(default_factory=dict)
    # A dry run's routes: by notification id, who would get it on which channel.
    routes: dict[int, list[Route]] = field(default_factory=dict)


def evaluate_and_plan(
    engine: Engine,
    handle: CampaignHandle,
    as_of: date,
    *,
    dry_run: bool = False,
    lock_wait_s: float = 60,
    templates_dir: Path | None = None,
    portal: PortalSettings | None = None,
) -> TickResult:
    """Evaluate every obligation as of ``as_of`` and plan what is due, under the campaign lock.
    A dry run's previews carry personal links signed with ``portal`` (none without it)."""
    cid, campaign = handle.campaign_id, handle.campaign
    with campaign_lock(engine, cid, "tick", holder_name(), wait_s=lock_wait_s) as lease:
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as session:
            try:
                evaluate(session, campaign, cid, as_of)
            except CalendarNotLoaded as exc:
                raise InputError([Problem("参数", "as_of", str(exc))]) from None
            if dry_run:
                lease.check()  # a safe point: nothing planned yet
            elif engine.dialect.name == "postgresql":
                # Statuses first, in their own commit: they follow from the date and the
                # rows, and the outbox still never holds messages for an uncommitted status
                # (a crash in between leaves them for the next tick); the planner's update
                # of these rows then does not re-check their foreign keys. On SQLite both
                # go in one commit, so each page the plan rewrites is written once; the
                # lease is extended inside that transaction (see Lease.check).
                lease.check(session.connection())
                session.commit()
            # Where a dry run's previews start; a real tick does not need it (at scale, the
            # campaign's whole outbox would be read for it every day).
            before = (
                session.scalar(
                    select(func.coalesce(func.max(NotificationRow.id), 0)).where(
                        NotificationRow.campaign_id == cid
                    )
                )
                if dry_run
                else 0
            )
            plan = plan_notifications(session, campaign, cid, as_of)
            status = status_report(session, campaign, cid, as_of)
            counted = overdue_counts(session, cid)
            worst = list(iter_items(session, campaign, cid, worst=WORST_ITEMS, counted=counted))
            previews: list[RenderedMessage] = []
            routes: dict[int, list[Route]] = {}
            if dry_run:
                ids = list(
                    session.scalars(
                        select(NotificationRow.id)
                        .where(NotificationRow.campaign_id == cid, NotificationRow.id > before)
                        .order_by(NotificationRow.recipient_unit_id, NotificationRow.id)
                    )
                )
                templates = templates_dir or (
                    Path(campaign.templates_dir) if campaign.templates_dir else None
                )
                previews = render_notifications(
                    session, campaign, cid, ids, as_of, templates, portal=portal
                )
                routes = planned_routes(
                    session, cid, ids, utcnow(), preference=campaign.delivery.preference
                )
                session.rollback()
            else:
                # Fenced: the lease is ours, and extended, at commit.
                lease.check(session.connection(), extend=True)
                session.commit()
    return TickResult(as_of, dry_run, plan, status, previews, worst, counted.by_level, routes)


def _evaluate_for(session: Session, handle: CampaignHandle, as_of: date) -> None:
    """Bring the session's view of the statuses to ``as_of`` (the caller rolls back), unless
    the stored evaluation is already for that date."""
    cid, campaign = handle.campaign_id, handle.campaign
    # Intake and waivers mark the rows they change (status_as_of NULL); otherwise the
    # stored statuses are those of the campaign's last evaluation.
    evaluated_on = session.scalar(select(CampaignRow.evaluated_on).where(CampaignRow.id == cid))
    dirty = session.scalar(
        select(func.count())
        .select_from(ObligationRow)
        .where(ObligationRow.campaign_id == cid, ObligationRow.status_as_of.is_(None))
    )
    if evaluated_on != as_of or dirty:
        try:
            evaluate(session, campaign, cid, as_of)
        except CalendarNotLoaded as exc:
            raise InputError([Problem("参数", "as_of", str(exc))]) from None


def current_status(engine: Engine, handle: CampaignHandle, as_of: date) -> dict[str, Any]:
    """Status as of a date without changing anything: evaluated inside a rolled-back
    transaction unless the stored evaluation is already for that date."""
    with Session(engine) as session:
        _evaluate_for(session, handle, as_of)
        report = status_report(session, handle.campaign, handle.campaign_id, as_of)
        session.rollback()
    return report


def status_items(
    engine: Engine,
    handle: CampaignHandle,
    as_of: date,
    item_filter: ItemFilter | None = None,
    *,
    worst: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Each obligation's status as of a date (pingan.adapters.db.status_items), streamed;
    nothing is changed. A bad filter is refused before the first item."""
    session = Session(engine)
    try:
        _evaluate_for(session, handle, as_of)
        items = iter_items(session, handle.campaign, handle.campaign_id, item_filter, worst=worst)
        first = next(items, None)
    except BaseException:
        session.rollback()
        session.close()
        raise
    return _drain(session, first, items)


def _drain(
    session: Session, first: dict[str, Any] | None, items: Iterator[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    try:
        if first is not None:
            yield first
            yield from items
    finally:
        session.rollback()
        session.close()


@dataclass(frozen=True)
class _Waiver:
    """One waive (or re-open) request: which gate, why, by whom."""

    campaign_id: int
    gate_key: str
    reason: str
    actor: str
    reopen: bool


def waive(
    engine: Engine,
    handle: CampaignHandle,
    *,
    gate_key: str,
    unit_codes: list[str],
    reason: str,
    actor: str,
    reopen: bool = False,
) -> int:
    """Waive (or re-open) the obligations of some units for one gate, audited per unit."""
    w = _Waiver(handle.campaign_id, gate_key, reason, actor, reopen)
    problems = [
        p
        for p in (
            _text_problem(reason, "--reason", "豁免或恢复的理由", MAX_REASON_CHARS),
            _text_problem(actor, "--actor", "操作人", MAX_ACTOR_CHARS),
        )
        if p is not None
    ]
    with sessionmaker(engine)() as session, session.begin():
        gate_id = _gate_id(session, handle, gate_key, problems)
        units = _unit_ids(session, w.campaign_id, unit_codes, problems)
        if problems:
            raise InputError(problems)
        rows = _owed_for_gate(session, gate_id, units, gate_key)
        changed = [r for r in rows if r.waived == reopen]
        if changed:
            _apply_waiver(session, w, changed, {uid: code for code, uid in units.items()})
    return len(changed)


def _gate_id(
    session: Session, handle: CampaignHandle, gate_key: str, problems: list[Problem]
) -> int | None:
    gate_id = None
    if is_key(gate_key):  # anything else names no gate, and may not even be storable
        gate_id = session.scalar(
            select(GateRow.id).where(
                GateRow.campaign_id == handle.campaign_id, GateRow.key == gate_key
            )
        )
    if gate_id is None:
        known = "、".join(g.key for g in handle.campaign.gates)
        problems.append(
            Problem("参数", "--gate", f"事项 {_shown(gate_key)} 不存在（可选：{known}）")
        )
    return gate_id


def _unit_ids(
    session: Session, campaign_id: int, unit_codes: list[str], problems: list[Problem]
) -> dict[str, int]:
    units = dict(
        session.execute(
            select(UnitRow.code, UnitRow.id).where(
                UnitRow.campaign_id == campaign_id,
                UnitRow.code.in_([c for c in unit_codes if is_code(c)]),
            )
        ).all()
    )
    for code in unit_codes:
        if code not in units:
            problems.append(Problem("参数", "--unit", f"单位编码 {_shown(code)} 不在本创建活动中"))
    return units


def _owed_for_gate(
    session: Session, gate_id: int | None, units: dict[str, int], gate_key: str
) -> list[Any]:
    """The units' obligations for the gate; every unit must owe one."""
    rows = list(
        session.execute(
            select(ObligationRow.id, ObligationRow.unit_id, ObligationRow.waived).where(
                ObligationRow.gate_id == gate_id, ObligationRow.unit_id.in_(units.values())
            )
        ).all()
    )
    owing = {r.unit_id for r in rows}
    missing = [c for c, uid in units.items() if uid not in owing]
    if missing:
        raise InputError(
            [Problem("参数", "--unit", f"单位 {c} 无需报送事项 {gate_key}") for c in missing]
        )
    return rows


def _apply_waiver(
    session: Session, w: _Waiver, changed: list[Any], code_of: dict[int, str]
) -> None:
    session.execute(
        update(ObligationRow)
        .where(ObligationRow.id.in_([r.id for r in changed]))
        .values(
            waived=not w.reopen,
            waived_reason=None if w.reopen else w.reason,
            status_as_of=None,  # re-evaluated by the next status or tick
        )
    )
    session.add_all(
        AuditEventRow(
            campaign_id=w.campaign_id,
            actor=w.actor,
            action="obligation.reopen" if w.reopen else "obligation.waive",
            entity="obligation",
            entity_id=str(r.id),
            before={"waived": r.waived},
            after={
                "waived": not w.reopen,
                "reason": w.reason,
                "gate": w.gate_key,
                "unit": code_of[r.unit_id],
            },
        )
        for r in changed
    )


__all__ = [
    "CampaignHandle",
    "ItemFilter",
    "LeaseLost",
    "LockHeld",
    "TickResult",
    "current_status",
    "evaluate_and_plan",
    "open_campaign",
    "resolve_as_of",
    "status_items",
    "waive",
]
