"""Roll-up: a notification's state follows its deliveries (the rule: the package docstring).

Refreshed in chunks while dispatching and for every unfinished notification at the end of a
run (``reconcile``, which also repairs what a killed worker left).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, case, func, literal, select, update
from sqlalchemy.exc import OperationalError

from pingan.adapters.db.bulk import rowcount
from pingan.adapters.db.deliveries import PENDING_STATES
from pingan.adapters.outbox.tables import DC, NC, N, among_bound

# Notification states follow their deliveries within this many rows or seconds.
ROLLUP_EVERY = 1000
ROLLUP_EVERY_S = 5.0
DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected


def roll_up(conn: Connection, deliveries_of: Any) -> int:
    """Set each notification's state from its deliveries; ``deliveries_of`` selects the
    deliveries (by notification) to roll up. The notifications updated."""
    res = conn.execute(_statement(deliveries_of), execution_options={"preserve_rowcount": True})
    return rowcount(res)


def _statement(deliveries_of: Any) -> Any:
    """One grouped scan of the deliveries, joined in with UPDATE … FROM, rather than a
    handful of correlated subqueries per notification."""

    def flag(*states: str) -> Any:
        return func.max(case((DC.state.in_(states), 1), else_=0))

    agg = (
        select(
            DC.notification_id.label("nid"),
            flag("failed").label("failed"),
            flag("leased").label("leased"),
            flag("queued").label("queued"),
            flag("sent").label("sent"),
            flag("cancelled").label("cancelled"),
            func.max(DC.attempts).label("attempts"),
            func.max(DC.sent_at).label("sent_at"),
            # Some error of a delivery still failing or dead; which one does not matter.
            func.max(case((DC.state.in_(("dead", "failed")), DC.last_error))).label("error"),
        )
        .where(deliveries_of)
        .group_by(DC.notification_id)
        .subquery()
    )
    state = case(
        (agg.c.failed == 1, literal("failed")),
        (agg.c.leased == 1, literal("leased")),
        (agg.c.queued == 1, literal("queued")),
        (agg.c.sent == 1, literal("sent")),
        (agg.c.cancelled == 1, literal("cancelled")),
        else_=literal("dead"),
    )
    return (
        update(N)
        .where(NC.id == agg.c.nid)
        .values(
            state=state,
            attempts=agg.c.attempts,
            sent_at=agg.c.sent_at,
            last_error=agg.c.error,
        )
    )


@lru_cache(maxsize=2)
def by_ids(postgresql: bool) -> Any:
    """The roll-up of the notifications bound as ``ids``, built once (like the batch's
    ``_load`` in pingan.adapters.outbox.freeze): a dispatcher runs it every thousand
    messages, and each batch of ids is only bound to it."""
    return _statement(among_bound(postgresql, DC.notification_id, "ids"))


def rollup_notifications(conn: Connection, notification_ids: Sequence[int]) -> None:
    """Autocommit connection, or the caller commits."""
    if notification_ids:
        stmt = by_ids(conn.dialect.name == "postgresql")
        conn.execute(stmt, {"ids": list(notification_ids)})


def reconcile(conn: Connection, campaign_id: int) -> int:
    """Roll up every unfinished notification: repairs those whose deliveries a killed
    worker marked but never rolled up. Cheap: unfinished notifications are few once sent."""
    pending = N.alias("pending")
    return roll_up(
        conn,
        DC.notification_id.in_(
            select(pending.c.id).where(
                pending.c.campaign_id == campaign_id, pending.c.state.in_(PENDING_STATES)
            )
        ),
    )


def again_on_deadlock(step: Callable[..., object], *args: Any) -> None:
    """Run a roll-up, again if PostgreSQL chose it as the victim of a deadlock.

    Two dispatchers rolling up overlapping notifications lock them in different orders,
    and PostgreSQL aborts one. A roll-up only recomputes states from the deliveries, so it
    is safe to repeat; the connection is in autocommit mode, so nothing else is undone.
    """
    tries = 5
    for attempt in range(tries):
        try:
            step(*args)
            return
        except OperationalError as exc:
            if attempt == tries - 1 or getattr(exc.orig, "sqlstate", None) != DEADLOCK:
                raise
            time.sleep(0.05 * (attempt + 1))
