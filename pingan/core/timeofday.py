"""Times of day as a campaign writes them: ``HH:MM`` parsed once, here, into ``datetime.time``.

Every other module (the campaign model, the deployment schedules, the outbox's quiet hours)
takes the parsed value; none parses text itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, PlainValidator, WithJsonSchema

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: object) -> time:
    """``"09:00"`` → ``time(9, 0)``; a clear Chinese message for anything else.

    YAML 1.1 reads an unquoted ``10:00`` as the sexagesimal number 600, so an int gets its
    own message."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, int):  # bool included
        raise ValueError('时间须加引号，如 "10:00"')
    m = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError('时间应为 HH:MM（24 小时制），如 "09:00"')
    return time(int(m.group(1)), int(m.group(2)))


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


# A pydantic field type: accepts "HH:MM" (or a time), holds a time, dumps "HH:MM".
HHMM = Annotated[time, BeforeValidator(parse_hhmm), PlainSerializer(format_hhmm, return_type=str)]


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local quiet hours [start, end): wrapping midnight when start > end, none when equal."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"20:00-08:00"``; each side is checked by meaning (a real time of day)."""
        try:
            return cls._parse(text)
        except ValueError as exc:
            raise ValueError(f"免打扰时段 {text!r} {exc}") from None

    @classmethod
    def _parse(cls, text: str) -> QuietHours:
        """As parse, with a message that does not repeat the text."""
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError("格式无效，应为 HH:MM-HH:MM，如 20:00-08:00")
        try:
            return cls(parse_hhmm(start), parse_hhmm(end))
        except ValueError:
            raise ValueError(
                "无效：起止时间都应为 00:00–23:59 之间的 HH:MM，如 20:00-08:00"
            ) from None

    @classmethod
    def coerce(cls, value: Any) -> QuietHours | None:
        if value is None or isinstance(value, QuietHours):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError(f"免打扰时段 {value!r} 应为文本 HH:MM-HH:MM")

    def __str__(self) -> str:
        return f"{format_hhmm(self.start)}-{format_hhmm(self.end)}"

    def free_minutes(self) -> list[tuple[int, int]]:
        """The allowed [from, to) minutes of a local day."""
        s = self.start.hour * 60 + self.start.minute
        e = self.end.hour * 60 + self.end.minute
        if s == e:
            return [(0, 24 * 60)]
        if s < e:
            return [(0, s), (e, 24 * 60)]
        return [(e, s)]


def _quiet_hours(value: object) -> QuietHours:
    """The field's validator: its messages leave the value to the problem report, which
    shows it shortened."""
    if isinstance(value, QuietHours):
        return value
    if not isinstance(value, str):
        raise ValueError("免打扰时段应为文本 HH:MM-HH:MM，如 20:00-08:00")
    try:
        return QuietHours._parse(value)
    except ValueError as exc:
        raise ValueError(f"免打扰时段{exc}") from None


# A pydantic field type: accepts "HH:MM-HH:MM" (or a QuietHours), dumps "HH:MM-HH:MM", so a
# model holding it round-trips through JSON. Write ``QuietHoursText | None`` for "none".
QuietHoursText = Annotated[
    QuietHours,
    PlainValidator(_quiet_hours),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}-\d{2}:\d{2}$"}),
]
