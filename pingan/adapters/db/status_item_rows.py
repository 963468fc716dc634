"""One item of `pingan status --items` from its row: the next rung and the day it is
reached, and the last message sent about it (its own, or a supervisor's digest listing it).
Plain Python per streamed row; what every row shares is read once (``Shared``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pingan.core.gates import Ladder

# The channel names of pingan.adapters.channels (which the database layer may not import).
CHANNELS = ("email", "wecom", "dingtalk", "webhook", "file", "sms", "wecom-app", "dingtalk-work")
PENDING = ("not_open", "open", "due_soon", "overdue")


@dataclass(frozen=True)
class Shared:
    """What every row's derived fields need: the ladder, the calendar, who hears of a rung,
    and each supervisor's latest digest actually sent."""

    ladder: Ladder
    first_day: Mapping[int, date]  # working-day ordinal -> the day it is reached
    coordinator: Mapping[str, Any] | None
    # Recipient unit id -> its latest sent digest: {"day": date, "message": the JSON}.
    digests: Mapping[int, dict[str, Any]]
    # (target, working days overdue) of the first rung that tells a lead unit or the
    # coordinator: from that day on, their digests list the item.
    told_after: tuple[tuple[str, int], ...]


def channels_of(r: Any) -> list[str]:
    return [c for c in CHANNELS if getattr(r, f"ch_{c}", None)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def seen(sent_at: datetime | None, viewed_at: datetime | None) -> bool | None:
    """Read receipt (签收): whether the recipient unit opened its personal link at or after
    the message was sent; None while nothing was sent."""
    if sent_at is None:
        return None
    return viewed_at is not None and viewed_at >= sent_at


def message_of(
    kind: str,
    level: int,
    on: date,
    sent_at: datetime | None,
    code: str,
    name: str,
    ch: list[str],
    viewed_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "level": level,
        "on": on.isoformat(),
        "sent_at": _iso(sent_at),
        "to": {"code": code, "name": name},
        "channels": ch,
        "seen": seen(sent_at, viewed_at),
    }


def _reach(shared: Shared, r: Any, after: int) -> date | None:
    """The day an item still owed is ``after`` working days overdue (None past the
    calendar): the day it reaches the rung of that threshold."""
    if r.due_ordinal is None:
        return None
    return shared.first_day.get(int(r.due_ordinal) + after)


def _next_rung(shared: Shared, r: Any) -> dict[str, Any] | None:
    """The rung an item still owed reaches next: its level, whom it tells and on which day."""
    if r.status not in PENDING:
        return None
    ladder, level = shared.ladder, int(r.escalation_level) + 1
    try:
        after = ladder.threshold(level)
    except ValueError:
        return None  # the ladder has run out and does not repeat
    target = ladder.target(level)
    to: Mapping[str, Any] | None
    if target == "contact":
        to = {"code": r.unit_code, "name": r.unit_name}
    elif target == "lead":
        to = {"code": r.sup_code, "name": r.sup_name} if r.sup_code else None
    else:
        to = shared.coordinator
    on = _reach(shared, r, after)
    return {
        "level": level,
        "target": target,
        "to": {"code": to["code"], "name": to["name"]} if to else None,
        "after_days": after,
        "on": on.isoformat() if on else None,
    }


def _digest_about(shared: Shared, r: Any) -> list[dict[str, Any]]:
    """The latest digests that listed this item: a supervisor's digest lists every item
    that had reached its rung and was still owed on the day the digest speaks of."""
    out: list[dict[str, Any]] = []
    if r.status == "waived":
        return out
    for target, after in shared.told_after:
        rid = r.supervisor_id if target == "lead" else _id(shared.coordinator)
        digest = shared.digests.get(rid) if rid is not None else None
        if digest is None:
            continue
        on = digest["day"]
        reached = _reach(shared, r, after)
        if reached is not None and reached <= on and (r.done_on is None or r.done_on > on):
            out.append(digest["message"])
    return out


def _id(unit: Mapping[str, Any] | None) -> int | None:
    return int(unit["id"]) if unit else None


def _last_message(shared: Shared, r: Any) -> dict[str, Any] | None:
    found = _digest_about(shared, r)
    if r.msg_kind is not None:
        found.append(
            message_of(
                r.msg_kind,
                r.msg_level,
                r.msg_on,
                r.msg_sent_at,
                r.msg_to_code,
                r.msg_to_name,
                channels_of(r),
                r.msg_viewed_at,
            )
        )
    if len(found) < 2:
        return found[0] if found else None
    return max(found, key=lambda m: (m["on"], m["sent_at"] or ""))


def _village(r: Any) -> dict[str, str] | None:
    """The village an item belongs to; a village's own items belong to it."""
    if r.unit_kind == "village":
        return {"code": r.unit_code, "name": r.unit_name}
    return {"code": r.village_code, "name": r.village_name} if r.village_code else None


def item_of(shared: Shared, domains: Mapping[int, str], r: Any) -> dict[str, Any]:
    return {
        "unit": {"code": r.unit_code, "name": r.unit_name, "kind": r.unit_kind},
        "domain": domains.get(r.domain_id),
        "village": _village(r),
        "gate": {"key": r.gate_key, "name": r.gate_name},
        "status": r.status,
        "due_on": r.due_on.isoformat(),
        "done_on": r.done_on.isoformat() if r.done_on else None,
        "days_overdue": int(r.days_overdue),
        "level": int(r.escalation_level),
        "next_rung": _next_rung(shared, r),
        "last_message": _last_message(shared, r),
    }
