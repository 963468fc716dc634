"""pingan's custom Prefect events, for operators to build automations on.

Every event's resource is the campaign (``pingan.campaign.<code>``); inside a flow or task
run Prefect adds the run, its flow, deployment and tags as related resources. Names:

* ``pingan.tick.completed``     a tick finished (payload: day, counts, dry run);
* ``pingan.obligation.overdue`` overdue obligations after a tick, counted per ladder level;
* ``pingan.delivery.dead``      messages given up on (attempts exhausted) in one dispatch;
* ``pingan.signoff.awaiting``   an acceptance waits for the coordinator's sign-off;
* ``pingan.signoff.given``      the sign-off was recorded (ends the waiting above).

The shipped automations (deployments/automations.py) react to ``pingan.signoff.awaiting``
without a following ``pingan.signoff.given``, and to failed runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from prefect.events import emit_event

TICK_COMPLETED = "pingan.tick.completed"
OBLIGATION_OVERDUE = "pingan.obligation.overdue"
DELIVERY_DEAD = "pingan.delivery.dead"
SIGNOFF_AWAITING = "pingan.signoff.awaiting"
SIGNOFF_GIVEN = "pingan.signoff.given"


def campaign_resource(code: str, name: str | None = None) -> dict[str, str]:
    resource = {"prefect.resource.id": f"pingan.campaign.{code}", "pingan.campaign": code}
    if name:
        resource["prefect.resource.name"] = name
    return resource


def emit(event: str, code: str, payload: Mapping[str, Any], name: str | None = None) -> None:
    """One pingan event about campaign ``code``: the only place events are sent from."""
    emit_event(event=event, resource=campaign_resource(code, name), payload=dict(payload))


def emit_tick_completed(
    code: str, as_of: date, counts: Mapping[str, int], *, dry_run: bool = False
) -> None:
    emit(TICK_COMPLETED, code, {"as_of": as_of.isoformat(), "dry_run": dry_run, **counts})


def emit_overdue(code: str, as_of: date, by_level: Mapping[int, int]) -> None:
    """Sent when anything is overdue: ``levels`` maps a ladder level to its count."""
    total = sum(by_level.values())
    if total:
        levels = {str(k): n for k, n in sorted(by_level.items())}
        payload = {"as_of": as_of.isoformat(), "total": total, "levels": levels}
        emit(OBLIGATION_OVERDUE, code, payload)


def emit_deliveries_dead(code: str, dead: int, errors: Mapping[str, int] | None = None) -> None:
    if dead:
        emit(DELIVERY_DEAD, code, {"dead": dead, "errors": dict(errors or {})})


def emit_signoff_awaiting(code: str, as_of: date, assessed: int, passed: int) -> None:
    """For the acceptance flow, when it pauses for the sign-off."""
    payload = {"as_of": as_of.isoformat(), "assessed": assessed, "passed": passed}
    emit(SIGNOFF_AWAITING, code, payload)


def emit_signoff_given(code: str, approved: bool) -> None:
    emit(SIGNOFF_GIVEN, code, {"approved": approved})
