"""What every model shares: naive UTC times, created/updated stamps, enum CHECKs."""

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so both databases store UTC without one."""
    return datetime.now(UTC).replace(tzinfo=None)


class Timestamped:
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())
    updated_at: so.Mapped[datetime] = so.mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )


def one_of(column: str, values: type[StrEnum]) -> sa.CheckConstraint:
    """A CHECK that keeps a string column inside an enum's values, on every database."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")
