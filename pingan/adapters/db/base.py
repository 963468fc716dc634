"""Declarative base with naming conventions so Alembic migrations are stable across backends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import JSON, MetaData, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JsonType}


def utcnow() -> datetime:
    """Timestamps are stored naive in UTC; local dates are derived with the campaign timezone."""
    return datetime.now(UTC).replace(tzinfo=None)


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as a Table (``__table__`` is a FromClause)."""
    return cast(Table, model.__table__)
