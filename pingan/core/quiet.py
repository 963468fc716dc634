"""Quiet hours: when the dispatcher holds messages back, decided from the clock alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pingan.core.timeofday import QuietHours

EVENINGS_AND_NIGHTS = QuietHours(time(20, 0), time(8, 0))
# Far enough ahead to pass any holiday run; a policy with no allowed day in it is broken.
_SEARCH_DAYS = 400


def monday_to_friday(d: date) -> bool:
    return d.weekday() < 5


@dataclass(frozen=True)
class QuietPolicy:
    """When nothing is sent: the quiet ``hours`` in local time (none when None) and, with
    ``working_days_only``, every day that ``is_working_day`` rejects (pass the campaign
    calendar's, which knows 调休 days)."""

    hours: QuietHours | None = EVENINGS_AND_NIGHTS
    working_days_only: bool = True
    tz: str = "Asia/Shanghai"
    is_working_day: Callable[[date], bool] = monday_to_friday

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)

    @classmethod
    def of(
        cls,
        quiet_hours: QuietHours | str | None,
        *,
        working_days_only: bool = True,
        tz: str = "Asia/Shanghai",
        is_working_day: Callable[[date], bool] = monday_to_friday,
    ) -> QuietPolicy:
        """From a campaign setting: a QuietHours, its text such as ``"20:00-08:00"``, or None
        for no quiet hours."""
        return cls(QuietHours.coerce(quiet_hours), working_days_only, tz, is_working_day)

    def next_allowed(self, now: datetime) -> datetime | None:
        """None when sending is allowed at ``now`` (naive UTC); else the next allowed
        moment, naive UTC."""
        zone = ZoneInfo(self.tz)
        local = now.replace(tzinfo=UTC).astimezone(zone)
        minute_now = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        free = self.hours.free_minutes() if self.hours is not None else [(0, 24 * 60)]
        for k in range(_SEARCH_DAYS):
            d = local.date() + timedelta(days=k)
            if self.working_days_only and not self.is_working_day(d):
                continue
            for lo, hi in free:
                if k == 0 and minute_now >= hi:
                    continue
                if k == 0 and minute_now >= lo:
                    return None
                at = datetime.combine(d, time(lo // 60, lo % 60), zone)
                return at.astimezone(UTC).replace(tzinfo=None)
        raise ValueError("未来一年内没有允许发送的时间，请检查免打扰设置与工作日历")
