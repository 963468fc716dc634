"""Working-day calendar: which days count when a deadline says "N 个工作日".

Three modes:

* ``cn`` — China's statutory holidays and 调休 make-up workdays, taken from the
  ``chinese-calendar`` package; a per-year override file takes precedence.
* ``weekdays`` — Monday to Friday, every year.
* ``calendar`` — every day is a working day, every year.

In ``cn`` mode a year that ``chinese-calendar`` does not know (it only ships the
State Council announcements it was released with) must have an override file;
otherwise :class:`CalendarError` is raised.  We never guess, because a guessed
holiday schedule silently shifts every deadline and overdue count of a campaign.

Override files live in one directory (normally ``config/calendars/``), one file
per year, named ``<year>.yaml`` (``.yml`` is accepted too)::

    year: 2027                 # must equal the file name
    source: 国办发明电〔2026〕X号  # optional, free text: where the data came from
    holidays:                  # non-working days besides weekends; single dates or ranges
      - 2027-01-01
      - {from: 2027-02-06, to: 2027-02-12, name: 春节}
    workdays:                  # 调休: weekend days that are working days
      - 2027-02-14

Dates are strict ``YYYY-MM-DD``; ranges are inclusive and ``name`` is only a
note for humans.  ``holidays`` and ``workdays`` may be omitted or empty.

* For a year ``chinese-calendar`` does not cover, a day is working iff it is
  (a weekday and not in ``holidays``) or in ``workdays``.
* For a covered year the file corrects individual days: a listed holiday is
  non-working, a listed workday is working, every other day follows
  ``chinese-calendar``.

Overrides are only consulted in ``cn`` mode.

The override files are read in :mod:`.overrides`, the working-day arithmetic lives in
:mod:`.working`. The latter is the only module of the project that imports pendulum, so that
time-zone handling has one home; it hands out plain :class:`datetime.date` objects only.
"""

from __future__ import annotations

from pingan.core.calendar.overrides import CalendarError, YearOverride, load_overrides, parse_date
from pingan.core.calendar.working import CalendarMode, WorkingCalendar, today_in

__all__ = [
    "CalendarError",
    "CalendarMode",
    "WorkingCalendar",
    "YearOverride",
    "load_overrides",
    "parse_date",
    "today_in",
]
