"""The tables every part of the outbox reads or writes, the size of a stored error, and how
a statement names a batch's ids."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from pingan.adapters.db.base import table
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow

D = table(DeliveryRow)
DC = D.c
N = table(NotificationRow)
NC = N.c
ERROR_LIMIT = 1000  # delivery.last_error's length


def among(conn: Connection, column: Any, ids: Collection[int]) -> Any:
    """``column IN ids``; on PostgreSQL ``column = ANY(ids)`` with the ids as one array
    parameter, so the statement's text (and the plan psycopg prepares for it) is the same
    for every batch, instead of one bound parameter per id to render, convert and plan."""
    return among_bound(conn.dialect.name == "postgresql", column, None, list(ids))


def among_bound(
    postgresql: bool, column: Any, name: str | None, ids: list[int] | None = None
) -> Any:
    """``among`` for a statement built once and run many times: without ``ids``, they are
    bound at each execution as the parameter ``name`` (a list)."""
    if postgresql:
        return column == any_(bindparam(name, ids, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, ids, expanding=True))
