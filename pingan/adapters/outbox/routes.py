"""Who gets what on which channel, for a dry run: the deliveries expansion would create for
some notifications, read back inside the caller's transaction (which the caller rolls back).

The same expansion as a real dispatch, so a preview cannot disagree with what is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.adapters.outbox.addressing import CC, CHANNEL_LABELS, CT
from pingan.adapters.outbox.expansion import expand
from pingan.adapters.outbox.tables import DC, D
from pingan.core.campaign.model import DEFAULT_PREFERENCE

CHUNK = 5000
UNNAMED = "未署名联系人"


@dataclass(frozen=True)
class Route:
    """One delivery a notification would get: a person (or a group address) and a channel."""

    person: str | None  # None: a group address (robot, webhook, shared mailbox)
    role: str | None
    channel: str
    address: str  # a mobile, userid or email, or a secret reference (never a secret)

    def describe(self) -> str:
        """One line for a person to read, e.g. "张三（负责人）· 短信 13800138000"."""
        channel = CHANNEL_LABELS.get(self.channel, self.channel)
        if self.person is None:
            return f"群发 · {channel} {self.address}"
        role = f"（{self.role}）" if self.role else ""
        return f"{self.person}{role} · {channel} {self.address}"


def planned_routes(
    session: Session,
    campaign_id: int,
    nids: Sequence[int],
    now: datetime,
    *,
    channels: Collection[str] | None = None,
    preference: Sequence[str] = DEFAULT_PREFERENCE,
) -> dict[int, list[Route]]:
    """The routes of ``nids`` (notifications without deliveries yet), by notification.

    Writes deliveries in the caller's transaction: call only from a dry run that rolls
    back. ``channels`` None: as if every channel were configured."""
    expand(session, campaign_id, now, channels=channels, preference=preference)
    out: dict[int, list[Route]] = {nid: [] for nid in nids}
    for i in range(0, len(nids), CHUNK):
        rows = session.execute(
            select(DC.notification_id, DC.contact_id, CC.name, CC.role, DC.channel, DC.address)
            .select_from(D.outerjoin(CT, CC.id == DC.contact_id))
            .where(DC.notification_id.in_(list(nids[i : i + CHUNK])))
            .order_by(DC.notification_id, DC.contact_id.is_(None), DC.rank, DC.id)
        )
        for nid, contact_id, name, role, channel, address in rows:
            person = None if contact_id is None else (name or UNNAMED)
            out[nid].append(Route(person, role, channel, address))
    return out
