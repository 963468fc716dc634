"""Messages frozen on first render: the first rendering of a notification is stored on it,
and every later send — a retry, a second channel, another worker — uses the stored text, so
what was sent stays auditable. The one part not stored is a personal link: the stored text
holds a placeholder, and each send signs the link again (pingan.adapters.db.messages.links)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import Attachment, Message
from pingan.adapters.db.awarding.signoff_links import fill_signoff_links
from pingan.adapters.db.base import table
from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.messages import digest_context, render_notifications
from pingan.adapters.db.messages.facts import Facts, facts_of
from pingan.adapters.db.messages.links import has_placeholder, short_signed_links, signed_links
from pingan.adapters.db.notifications import message_key
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import ContactRow, UnitRow
from pingan.adapters.outbox.context import DispatchRun
from pingan.adapters.outbox.tables import ERROR_LIMIT, NC, N, among_bound
from pingan.adapters.render.late_list import late_list_xlsx
from pingan.core.gates import Ladder

OB = table(ObligationRow).c
UC = table(UnitRow).c
CC = table(ContactRow).c
GC = table(GateRow).c
# Stands for a short link that could not be stored yet: its SMS is retried later.
SHORT_LINK_PENDING = "\x00pending"
SUBJECT_LIMIT = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class FrozenBatch:
    """A batch's notifications: their messages, why some could not be rendered, and which
    are no longer owed."""

    messages: dict[int, Message]  # stored text: the link placeholder is still in the body
    errors: dict[int, str]
    cancelled: set[int]
    # The recipient unit's signed link, for messages that have a place for one (None: no
    # portal settings); pingan.adapters.outbox.personal puts it in personal messages only.
    links: dict[int, str | None] = field(default_factory=dict)
    # The same link made short (<portal>/k/<code>) for SMS deliveries, which carry it in a
    # template variable of limited length.
    short_links: dict[int, str | None] = field(default_factory=dict)


def _load(run: DispatchRun, ids: Sequence[int], today: date) -> Sequence[Any]:
    """The notifications' stored texts with whatever else sending them needs (whether the
    obligation is done, the recipient, the facts for templates), in one statement."""
    if run.conn.dialect.name == "postgresql":
        return _load_pg(run, ids, today)
    # .all(): one fetch of the whole batch, not a driver call per row.
    return run.conn.execute(_load_statement(False), {"ids": list(ids), "today": today}).all()


def _load_pg(run: DispatchRun, ids: Sequence[int], today: date) -> Sequence[Any]:
    """``_load`` on PostgreSQL, through the driver: SQLAlchemy's rows took a third of the
    statement's time, once per batch between two sends. Rows carry the same names."""
    from psycopg.rows import namedtuple_row

    sql, fixed = _load_pg_text(run.conn.dialect)
    raw: Any = run.conn.connection.driver_connection
    cur = raw.cursor(row_factory=namedtuple_row)
    try:
        cur.execute(sql, {**fixed, "ids": list(ids), "today": today})
        rows: list[Any] = cur.fetchall()
        return rows
    finally:
        cur.close()


@lru_cache(maxsize=4)
def _load_pg_text(dialect: Any) -> tuple[str, dict[str, Any]]:
    """``_load``'s statement as PostgreSQL text, with its fixed parameters, compiled once."""
    compiled = _load_statement(True).compile(dialect=dialect)
    state = compiled.construct_expanded_state({"ids": [], "today": date.min})
    return state.statement, dict(state.parameters)


@lru_cache(maxsize=2)
def _load_statement(postgresql: bool) -> Any:
    """``_load``'s statement, built once: every batch binds its own ids and date."""
    today = bindparam("today", type_=Date)
    done = case((or_(OB.waived, and_(OB.done_on.is_not(None), OB.done_on <= today)), 1), else_=0)
    return (
        select(
            NC.id,
            NC.subject,
            NC.body,
            message_key().label("dedupe_key"),
            done.label("done"),
            NC.recipient_unit_id,
            NC.kind,
            NC.planned_on,
            UC.id.label("unit_id"),
            UC.name.label("unit_name"),
            GC.name.label("item"),
            OB.due_on,
            OB.days_overdue,
            _mobiles().label("mobiles"),
        )
        .select_from(
            N.outerjoin(table(ObligationRow), OB.id == NC.obligation_id)
            .outerjoin(table(UnitRow), UC.id == NC.recipient_unit_id)
            .outerjoin(table(GateRow), GC.id == OB.gate_id)
        )
        .where(among_bound(postgresql, NC.id, "ids"))
    )


def _render_and_store(run: DispatchRun, missing: Sequence[int], today: date) -> dict[int, str]:
    """Render and store the texts of ``missing``; the render errors, by notification."""
    errors: dict[int, str] = {}
    campaign, cid, templates = run.campaign, run.campaign_id, run.templates_dir
    with Session(run.engine) as session:
        try:
            rendered = render_notifications(
                session, campaign, cid, missing, today, templates, portal=run.portal, stored=True
            )
        except Exception:
            # One broken notification must not hold back the batch: render one by
            # one and give up only on the ones that fail.
            rendered = []
            for nid in missing:
                try:
                    rendered += render_notifications(
                        session,
                        campaign,
                        cid,
                        [nid],
                        today,
                        templates,
                        portal=run.portal,
                        stored=True,
                    )
                except Exception as exc:
                    errors[nid] = f"消息渲染失败：{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        for r in rendered:
            # "subject IS NULL": a concurrent worker's first rendering wins.
            session.execute(
                update(N)
                .where(NC.id == r.notification_id, NC.subject.is_(None))
                .values(subject=r.subject[:SUBJECT_LIMIT], body=r.body)
            )
        session.commit()
    return errors


def frozen_messages(
    run: DispatchRun, nids: Sequence[int], today: date, short_for: Collection[int] = ()
) -> FrozenBatch:
    """The messages of a batch's notifications, rendered and stored first where needed.

    ``short_for``: notifications with an SMS delivery in the batch; their personal link is
    also made short (``short_links``), committed before anything is sent.

    Cancelled: the obligation behind a reminder or escalation was done or waived by
    ``today``. One query for the common case (already rendered).
    """
    rows = _load(run, nids, today)
    cancelled = {r.id for r in rows if r.done}
    missing = [r.id for r in rows if not r.done and (r.subject is None or r.body is None)]
    errors: dict[int, str] = {}
    if missing:
        errors = _render_and_store(run, missing, today)
        fresh = {r.id: r for r in _load(run, missing, today)}
        rows = [fresh.get(r.id, r) for r in rows]
    live = [r for r in rows if not r.done and r.subject is not None and r.body is not None]
    wanted = [r.id for r in live if r.id in short_for and has_placeholder(r.body)]
    short = _short_links(run, wanted) if wanted else {}
    with Session(bind=run.conn) as session:
        extras = _extras(session, run, live, today)
        # Stored texts hold a placeholder for the personal link: sign it now, for this send.
        stored = {r.id: r.body for r in live}
        links = signed_links(session, run.campaign, stored, run.portal)
        # An approver's sign-off link, signed for each send like a unit's (issue 14); its
        # notification goes to that one approver, so the link is in the body and the button.
        bodies, actions = fill_signoff_links(session, run.campaign, stored, run.portal)
    messages = {
        r.id: _message(r, bodies[r.id], _facts(r), extras.get(r.id, {}) | actions.get(r.id, {}))
        for r in live
    }
    return FrozenBatch(messages, errors, cancelled, links, short)


def _short_links(run: DispatchRun, nids: list[int]) -> dict[int, str | None]:
    """Short links for SMS, committed at once: a code must resolve before its SMS goes.

    When they cannot be stored now (say, SQLite busy past its timeout), the batch's SMS
    wait for a later run (SHORT_LINK_PENDING) and every other channel sends as usual."""
    try:
        with Session(run.engine) as session:
            out = short_signed_links(session, run.campaign, nids, run.portal)
            session.commit()
    except SQLAlchemyError:
        return dict.fromkeys(nids, SHORT_LINK_PENDING)
    return out


def _message(r: Any, body: str, facts: Facts | None, extra: dict[str, Any]) -> Message:
    """A notification's stored text with its facts and extras (mentions, attachments)."""
    kind, params = facts if facts is not None else (None, ())
    more = {k: v for k, v in extra.items() if k != "params"}
    return Message(
        subject=r.subject,
        body=body,
        dedupe_key=r.dedupe_key,
        kind=kind,
        params=params + extra.get("params", ()),
        **more,
    )


def _facts(r: Any) -> Facts | None:
    """The message's facts (pingan.adapters.db.messages.facts), none without a unit."""
    if r.unit_id is None:
        return None
    return facts_of(r.kind, r.subject, r.unit_name, r.item, r.due_on, r.days_overdue)


def _mobiles() -> Any:
    """The recipient unit's registered mobiles, joined by commas (a mobile is digits only),
    as a column of ``_load``: one statement per batch fetches them with the texts."""
    return (
        select(func.aggregate_strings(CC.mobile, ","))
        .where(CC.unit_id == NC.recipient_unit_id, CC.mobile.is_not(None))
        .scalar_subquery()
    )


def _mentions(mobiles: str | None) -> tuple[str, ...]:
    """``_mobiles``' value as the message's @mentions: each mobile once, in order."""
    return tuple(sorted({m for m in (mobiles or "").split(",") if m}))


def _extras(
    session: Session, run: DispatchRun, rows: Sequence[Any], today: date
) -> dict[int, dict[str, Any]]:
    """@mentions (the recipient's registered mobiles) and, for digests, the full list of
    late items as an XLSX attachment (email carries it; robots ignore attachments)."""
    if not rows:
        return {}
    campaign = run.campaign
    ladder = Ladder.of(campaign)
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        unit_id, day = r.recipient_unit_id, r.planned_on or today
        extra: dict[str, Any] = {"mentions": _mentions(r.mobiles)}
        if r.kind == "digest":
            ctx = digest_context(session, run.campaign_id, ladder, unit_id, day, campaign.wording)
            title = f"{campaign.short_name or campaign.name} 逾期事项清单（截至 {day}）"
            extra["params"] = (("count", str(ctx["total"])),)
            extra["attachments"] = (
                Attachment(
                    f"late-items-{day.isoformat()}.xlsx",
                    late_list_xlsx(title, ctx["items"], campaign.wording.grouping),
                    XLSX,
                ),
            )
        out[r.id] = extra
    return out
