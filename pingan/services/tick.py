"""The daily tick's steps as plain functions over an engine; tasks and the CLI call these.

Evaluation and planning share one transaction, so the outbox never holds messages for a
status that was not committed; a dry run does the same work and rolls it back.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.campaigns import CampaignRow, GateRow
from pingan.adapters.db.evaluate import CalendarNotLoaded, PlanSummary, evaluate, plan_notifications
from pingan.adapters.db.locks import LockHeld, campaign_lock
from pingan.adapters.db.messages import RenderedMessage, render_notifications
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.session import ensure_schema
from pingan.adapters.db.status import status_report
from pingan.adapters.db.units import UnitRow
from pingan.core.calendar import today_in
from pingan.core.campaign import Campaign, is_code, is_key
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


def evaluate_and_plan(
    engine: Engine,
    handle: CampaignHandle,
    as_of: date,
    *,
    dry_run: bool = False,
    lock_wait_s: float = 60,
    templates_dir: Path | None = None,
) -> TickResult:
    """Evaluate every obligation as of ``as_of`` and plan what is due, under the campaign lock."""
    cid, campaign = handle.campaign_id, handle.campaign
    with campaign_lock(engine, cid, "tick", holder_name(), wait_s=lock_wait_s):
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as session:
            try:
                evaluate(session, campaign, cid, as_of)
            except CalendarNotLoaded as exc:
                raise InputError([Problem("参数", "as_of", str(exc))]) from None
            before = session.scalar(
                select(func.coalesce(func.max(NotificationRow.id), 0)).where(
                    NotificationRow.campaign_id == cid
                )
            )
            plan = plan_notifications(session, campaign, cid, as_of)
            status = status_report(session, campaign, cid, as_of)
            previews: list[RenderedMessage] = []
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
                previews = render_notifications(session, campaign, cid, ids, as_of, templates)
                session.rollback()
            else:
                session.commit()
    return TickResult(as_of, dry_run, plan, status, previews)


def current_status(engine: Engine, handle: CampaignHandle, as_of: date) -> dict[str, Any]:
    """Status as of a date without changing anything: evaluated inside a rolled-back
    transaction unless the stored evaluation is already for that date."""
    cid, campaign = handle.campaign_id, handle.campaign
    with Session(engine) as session:
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
        report = status_report(session, campaign, cid, as_of)
        session.rollback()
    return report


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
    cid = handle.campaign_id
    problems = [
        p
        for p in (
            _text_problem(reason, "--reason", "豁免或恢复的理由", MAX_REASON_CHARS),
            _text_problem(actor, "--actor", "操作人", MAX_ACTOR_CHARS),
        )
        if p is not None
    ]
    with sessionmaker(engine)() as session, session.begin():
        gate_id = None
        if is_key(gate_key):  # anything else names no gate, and may not even be storable
            gate_id = session.scalar(
                select(GateRow.id).where(GateRow.campaign_id == cid, GateRow.key == gate_key)
            )
        if gate_id is None:
            known = "、".join(g.key for g in handle.campaign.gates)
            problems.append(
                Problem("参数", "--gate", f"事项 {_shown(gate_key)} 不存在（可选：{known}）")
            )
        units = dict(
            session.execute(
                select(UnitRow.code, UnitRow.id).where(
                    UnitRow.campaign_id == cid,
                    UnitRow.code.in_([c for c in unit_codes if is_code(c)]),
                )
            ).all()
        )
        for code in unit_codes:
            if code not in units:
                problems.append(
                    Problem("参数", "--unit", f"单位编码 {_shown(code)} 不在本创建活动中")
                )
        if problems:
            raise InputError(problems)
        rows = session.execute(
            select(ObligationRow.id, ObligationRow.unit_id, ObligationRow.waived).where(
                ObligationRow.gate_id == gate_id, ObligationRow.unit_id.in_(units.values())
            )
        ).all()
        owing = {r.unit_id for r in rows}
        missing = [c for c, uid in units.items() if uid not in owing]
        if missing:
            raise InputError(
                [Problem("参数", "--unit", f"单位 {c} 无需报送事项 {gate_key}") for c in missing]
            )
        changed = [r for r in rows if r.waived == reopen]
        if changed:
            session.execute(
                update(ObligationRow)
                .where(ObligationRow.id.in_([r.id for r in changed]))
                .values(
                    waived=not reopen,
                    waived_reason=None if reopen else reason,
                    status_as_of=None,  # re-evaluated by the next status or tick
                )
            )
            code_of = {uid: code for code, uid in units.items()}
            session.add_all(
                AuditEventRow(
                    campaign_id=cid,
                    actor=actor,
                    action="obligation.reopen" if reopen else "obligation.waive",
                    entity="obligation",
                    entity_id=str(r.id),
                    before={"waived": r.waived},
                    after={
                        "waived": not reopen,
                        "reason": reason,
                        "gate": gate_key,
                        "unit": code_of[r.unit_id],
                    },
                )
                for r in changed
            )
    return len(changed)


__all__ = [
    "CampaignHandle",
    "LockHeld",
    "TickResult",
    "current_status",
    "evaluate_and_plan",
    "open_campaign",
    "resolve_as_of",
    "waive",
]
