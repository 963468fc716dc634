"""The outbox dispatcher: expand → claim → render → rate-limit → send → mark → roll up.

* ``expand`` (expansion) turns each queued notification into deliveries: one per person of
  the recipient unit on their preferred personal channel, and one per group address (robot,
  webhook, shared mailbox) — addressing says who is reached how. A person whose delivery
  dies gets one on their next channel (fallback); personal links go only to persons
  (personal).
* ``claim`` (leases) leases due deliveries, so two dispatchers never hold the same row; a
  dead worker's lease runs out and its rows come back.
* ``dispatch`` (run, sending) sends each claimed delivery and marks it in its own short
  transaction before the next send; what a send's outcome makes of the row is decided by
  pingan.core.delivery.verdict under a DispatchPolicy. Texts are frozen on first render
  (freeze); robot endpoints share one-minute rate windows (quota).
* ``list_outbox``, ``outbox_counts`` and ``retry`` (admin) are for the operator.

Notification state is a roll-up of its deliveries (rollup), refreshed every ROLLUP_EVERY rows
or ROLLUP_EVERY_S seconds (on PostgreSQL on a connection of its own, not waited for:
rollup_lane) and at the end of every run (``reconcile``, which also repairs what a killed
worker left):

  failed     some delivery waits for a retry
  leased     none waits for a retry, some is being sent
  queued     none of the above, some not tried yet (or deferred by a rate limit)
  sent       all deliveries finished and at least one reached the unit — a dead side
             channel (say a revoked robot key) stays visible as a dead *delivery*
  cancelled  all finished, none sent, some cancelled: the obligation was done or waived
             before sending, so nothing is owed any more
  dead       all finished, none sent, none cancelled (or no usable contact at all)
"""

from __future__ import annotations

from pingan.adapters.outbox.admin import (
    OutboxEntry,
    RetryResult,
    list_outbox,
    outbox_counts,
    retry,
)
from pingan.adapters.outbox.expansion import NO_CONTACT, NO_ENABLED, ExpandResult, expand
from pingan.adapters.outbox.leases import LEASE_EXPIRED, Claimed, claim
from pingan.adapters.outbox.report import DispatchReport
from pingan.adapters.outbox.rollup import reconcile
from pingan.adapters.outbox.run import dispatch
from pingan.adapters.outbox.sending import CANCELLED

__all__ = [
    "CANCELLED",
    "LEASE_EXPIRED",
    "NO_CONTACT",
    "NO_ENABLED",
    "Claimed",
    "DispatchReport",
    "ExpandResult",
    "OutboxEntry",
    "RetryResult",
    "claim",
    "dispatch",
    "expand",
    "list_outbox",
    "outbox_counts",
    "reconcile",
    "retry",
]
