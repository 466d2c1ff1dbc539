"""What every model shares, and one import that loads them all (for Alembic and the shell)."""

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


def load_all() -> None:
    """Import every model module so ``db.metadata`` knows every table."""
    from practika import mail_outbox as _mail_outbox  # noqa: F401
    from practika.accounts import models as _accounts  # noqa: F401
    from practika.api import models as _api  # noqa: F401
    from practika.comments import models as _comments  # noqa: F401
    from practika.core import models as _core  # noqa: F401
    from practika.exercises import models as _exercises  # noqa: F401
    from practika.webhooks import models as _webhooks  # noqa: F401
