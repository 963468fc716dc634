"""The plain facts of a notification — its kind, the unit, the item and its due date — for
channels that cannot carry free text (SMS templates fill named parameters from these).

Values are plain, unescaped text as the roster and campaign give them; a channel that puts
them into markup escapes them itself.
"""

from __future__ import annotations

from datetime import date

Facts = tuple[str, tuple[tuple[str, str], ...]]


def short_date(day: date) -> str:
    """ "5月15日": short enough for the tightest vendor limit on a template variable."""
    return f"{day.month}月{day.day}日"


def facts_of(
    kind: str,
    subject: str | None,
    unit: str,
    item: str | None,
    due_on: date | None,
    days_overdue: int | None,
) -> Facts:
    """(kind, params) of one notification from its columns (the caller selects them with its
    own query), with the variable names of docs/channels.md: ``unit`` always; ``item``,
    ``due`` (5月15日) and ``days`` (working days overdue) when the message is about one item;
    ``title`` (the subject) for a bulletin. A digest's ``count`` is added where its items
    are counted (pingan.adapters.outbox.freeze)."""
    params = [("unit", unit)]
    if item is not None and due_on is not None:
        params += [("item", item), ("due", short_date(due_on)), ("days", str(days_overdue or 0))]
    if kind == "bulletin" and subject:
        params.append(("title", subject))
    return (kind, tuple(params))
