"""The declarative base shared by every concern's tables, and the installation record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

MAX_ROW_ID = 2**31 - 1
"""The largest id an ``Integer`` primary key holds on every supported database (PostgreSQL: 32 bits)."""


class Base(DeclarativeBase):
    """Base class of all souverain tables (their schema is created by migrations, not by metadata)."""


class Instance(Base):
    __tablename__ = "instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    installation_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_instance(session: Session) -> Instance:
    """The installation record, created on first use."""
    instance = session.scalar(select(Instance).where(Instance.id == 1))
    if instance is None:
        instance = Instance(id=1, installation_id=str(uuid.uuid4()), created_at=utcnow())
        session.add(instance)
        session.flush()
    return instance
