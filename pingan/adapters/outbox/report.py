"""What one dispatcher run did."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0  # failed this run, will be retried
    dead: int = 0  # deliveries given up this run
    cancelled: int = 0
    deferred: int = 0  # due, but held back by quiet hours
    rate_limited: int = 0  # put back until their endpoint's window reopens
    expanded: int = 0  # deliveries created
    no_contact: int = 0  # notifications dead for want of a contact
    fallbacks: int = 0  # notifications re-sent to a person on their next channel
    lost_leases: int = 0  # rows another worker took over before we sent them
    batches: int = 0
    quiet_until: datetime | None = None  # naive UTC: when sending may start
    next_due_at: datetime | None = None  # naive UTC: the earliest pending row
    errors: dict[str, int] = field(default_factory=dict)  # by error code

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("quiet_until", "next_due_at"):
            v = out[k]
            out[k] = v.isoformat() if v else None
        return out

    def local_times(self, tz: str) -> dict[str, str | None]:
        """``quiet_until`` and ``next_due_at`` in the campaign's time zone, with the offset
        (what an operator reads; the stored values are naive UTC)."""
        zone = ZoneInfo(tz)
        return {
            k: v.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="seconds") if v else None
            for k, v in (("quiet_until", self.quiet_until), ("next_due_at", self.next_due_at))
        }

    def summary_zh(self, tz: str) -> str:
        """One line for the operator; times in the campaign's time zone ``tz``."""
        text = (
            f"发送成功 {self.sent} 条，待重试 {self.failed} 条，放弃 {self.dead} 条，"
            f"取消 {self.cancelled} 条，限流顺延 {self.rate_limited} 条"
        )
        if self.no_contact:
            text += f"，无联系方式 {self.no_contact} 条"
        if self.fallbacks:
            text += f"，改用其他渠道重发 {self.fallbacks} 条"
        if self.quiet_until:
            until = self.quiet_until.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
            text += f"；当前为免打扰时段，{self.deferred} 条待发，{until:%m月%d日 %H:%M} 后发送"
        return text

    @property
    def handled(self) -> int:
        """Deliveries this run settled one way or another."""
        return self.sent + self.failed + self.dead + self.cancelled

    def count_error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1
