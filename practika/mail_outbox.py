"""The mail outbox: one row per message, written before its delivery job is enqueued.

The row keeps the rendered bytes, so a retry, or a delivery the sweep enqueues again after
Redis lost it, sends the very same message (Message-ID included). Once sent, the bytes are
dropped, and so are they once it fails for good: a reset link in them must not outlive
its delivery in the database.

A message may gather several happenings (the comments written in one thread within a few
minutes): ``batch_key`` names what it gathers and ``batch_items`` the ids it lists, in order.
It takes more only while no delivery has claimed it (``practika.mail.send_batched``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.extensions import db
from practika.model_base import one_of, utcnow


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"
    __table_args__ = (
        one_of("status", MailStatus),
        # The sweep looks for pending messages.
        sa.Index("ix_outgoing_mail_status_next_try_at", "status", "next_try_at"),
        # A new comment looks for the open message of its thread and reader.
        sa.Index("ix_outgoing_mail_batch_key", "batch_key"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    template: so.Mapped[str] = so.mapped_column(sa.String(40))
    message: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    status: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=MailStatus.PENDING, server_default=MailStatus.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    next_try_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())
    sent_at: so.Mapped[datetime | None]
    batch_key: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    batch_items: so.Mapped[list[str] | None] = so.mapped_column(sa.JSON)

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.id} {self.template} {self.status}>"
