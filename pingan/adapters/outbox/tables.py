"""The tables every part of the outbox reads or writes, and the size of a stored error."""

from __future__ import annotations

from pingan.adapters.db.base import table
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow

D = table(DeliveryRow)
DC = D.c
N = table(NotificationRow)
NC = N.c
ERROR_LIMIT = 1000  # delivery.last_error's length
