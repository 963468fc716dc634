"""The most overdue items and the overdue items per ladder level, for the tick's artifact:
bounded reads of a whole campaign that never look up every item's unit.

An item counts while its unit is active; the few units that are not are left out through
their partial index (``inactive_units``), so both reads start as one scan of obligation.
At a million cells, joining every overdue item to its unit and gate to sort them took
about 1 s on SQLite and 1.7 s on PostgreSQL; so did the join of the per-level count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import GateRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.units import UnitRow, inactive_units

OB = ObligationRow
# Ties at the cut-off above this share of the overdue items are read in unit-code order,
# stopping at the cut (a lookup of each unit's items until enough are found); fewer are
# read from the obligations and sorted.
MANY_TIES = 0.01


def _overdue(campaign_id: int) -> list[Any]:
    return [
        OB.campaign_id == campaign_id,
        OB.status == "overdue",
        (OB.unit_id + 0).not_in(inactive_units(campaign_id)),
    ]


@dataclass(frozen=True)
class Overdue:
    """The overdue items of active units, counted per ladder level and per days overdue."""

    by_level: dict[int, int]
    by_days: list[tuple[int, int]]  # (days overdue, items), as worst_item_ids reads them


def overdue_counts(session: Session, campaign_id: int) -> Overdue:
    """Both counts in one scan (grouped by level and days together: 0.47 s at 1M cells on
    SQLite, against 0.72 s for the two apart)."""
    by_level: dict[int, int] = {}
    by_days: dict[int, int] = {}
    level, days = OB.escalation_level, OB.days_overdue
    for lv, d, n in session.execute(
        select(level, days, func.count()).where(*_overdue(campaign_id)).group_by(level, days)
    ):
        by_level[int(lv)] = by_level.get(int(lv), 0) + int(n)
        by_days[int(d)] = by_days.get(int(d), 0) + int(n)
    return Overdue(dict(sorted(by_level.items())), sorted(by_days.items()))


def worst_item_ids(
    session: Session,
    campaign_id: int,
    terms: list[Any],
    worst: int,
    counted: Overdue | None = None,
) -> list[int]:
    """The ids of the ``worst`` overdue items of active units that satisfy ``terms``, in the
    order (days overdue descending, unit code, gate).

    First the number of items per days overdue (one scan; ``terms`` that name the unit join
    it), which gives the cut-off T: items above it all belong to the answer (fewer than
    ``worst``), and the rest are the first of those at T in (unit code, gate) order. When
    many items tie at T, as on the day after a deadline where every item is overdue by the
    same days, walking the units in code order finds them at once; when few do, reading
    them from the obligations and sorting them is quicker. ``counted``, without ``terms``,
    spares the first scan."""
    where = _overdue(campaign_id) + terms
    source: Any = ObligationRow
    if terms:
        source = source.__table__.join(UnitRow.__table__, UnitRow.id == OB.unit_id + 0)
    days = OB.days_overdue
    if counted is not None and not terms:
        histogram: Sequence[Any] = counted.by_days
    else:
        histogram = session.execute(
            select(days, func.count()).select_from(source).where(*where).group_by(days)
        ).all()
    cut, above, at, total = _cut(histogram, worst)
    if cut is None:
        return []
    order = (days.desc(), UnitRow.code, GateRow.id)
    # Units by primary key from each obligation ("+ 0": not the other way round).
    by_items = select(OB.id).join(UnitRow, UnitRow.id == OB.unit_id + 0)
    by_items = by_items.join(GateRow, GateRow.id == OB.gate_id).where(*where)
    if at <= total * MANY_TIES:
        return list(session.scalars(by_items.where(days >= cut).order_by(*order).limit(worst)))
    ids = list(session.scalars(by_items.where(days > cut).order_by(*order))) if above else []
    by_units = (
        select(OB.id)
        .select_from(UnitRow)
        .join(ObligationRow, OB.unit_id == UnitRow.id)
        .join(GateRow, GateRow.id == OB.gate_id)
        .where(UnitRow.campaign_id == campaign_id, days == cut, *where)
        .order_by(UnitRow.code, GateRow.id)
        .limit(worst - above)
    )
    return ids + list(session.scalars(by_units))


def _cut(histogram: Sequence[Any], worst: int) -> tuple[int | None, int, int, int]:
    """(T, items above T, items at T, all items) from (days overdue, n) rows: T is the
    days overdue of the ``worst``-th item from the top (the lowest when there are fewer)."""
    above, total = 0, sum(int(n) for _, n in histogram)
    for d, n in sorted(histogram, key=lambda r: -int(r[0])):
        if above + int(n) >= worst:
            return int(d), above, int(n), total
        above += int(n)
    if not histogram:
        return None, 0, 0, 0
    lowest = min(histogram, key=lambda r: int(r[0]))
    return int(lowest[0]), above - int(lowest[1]), int(lowest[1]), total
