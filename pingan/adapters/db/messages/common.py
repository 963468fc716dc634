"""What every message shares: the rendered message, the common template context and the
moment its personal link is signed for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pingan.core.campaign import Campaign


@dataclass(frozen=True)
class RenderedMessage:
    notification_id: int
    recipient_unit_id: int
    recipient_code: str
    recipient_name: str
    kind: str
    level: int
    subject: str
    body: str


def message_common(campaign: Campaign, today: date) -> dict[str, Any]:
    """What every message template may use: campaign, office, how to submit, today."""
    office = campaign.coordinator.office
    return {
        "campaign": {
            "short": campaign.short_name or campaign.name,
            "name": campaign.name,
            "document": campaign.document or campaign.name,
        },
        "office": {
            "name": office.name if office else campaign.coordinator.name,
            "phone": office.phone if office else None,
            "email": office.email if office else None,
        },
        "org": campaign.wording.as_context(),
        "ceremonies": [
            {"name": x.name, "held_on": x.held_on, "place": x.place, "domains": x.domains}
            for x in campaign.award.ceremonies
        ],
        "how_to_submit": campaign.how_to_submit or "将材料按“材料类别/单位编码/文件”放入报送目录",
        "today": today,
    }


def link_moment(day: date, tz: str) -> datetime:
    """The moment a message's personal link is signed for: the start of the day the message
    speaks of, so a message renders to the same text whenever it is rendered."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))
