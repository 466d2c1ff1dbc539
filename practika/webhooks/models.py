"""Webhook endpoints, and one delivery row per (event, endpoint) with each attempt's answer.

The delivery row is the outbox: it is committed before its job is enqueued, and stays
``pending`` until an attempt succeeds or the last retry fails, so a job Redis lost is found
again by the sweep or sent again by a redeliver.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.extensions import db
from practika.model_base import Timestamped, one_of, utcnow

if TYPE_CHECKING:
    from practika.accounts.models import User


class Event(StrEnum):
    VIDEO_READY = "video.ready"
    VIDEO_FAILED = "video.failed"
    ATTEMPT_SUBMITTED = "attempt.submitted"
    COMMENT_CREATED = "comment.created"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookEndpoint(Timestamped, db.Model):
    """A receiver's URL and the events it wants. The secret signs every delivery, so it is
    kept as it is (a hash could not sign); only staff see it, once, when it is made."""

    __tablename__ = "webhook_endpoints"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    url: so.Mapped[str] = so.mapped_column(sa.String(2000))
    description: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    events: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list, server_default="[]")
    secret: so.Mapped[str] = so.mapped_column(sa.String(100))
    is_active: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by: so.Mapped[User | None] = so.relationship()

    def wants(self, event: str) -> bool:
        return self.is_active and event in self.events

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class WebhookDelivery(db.Model):
    """One event for one endpoint: the exact body sent (a retry sends the same bytes)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        one_of("status", DeliveryStatus),
        # The sweep looks for pending rows older than a while.
        sa.Index("ix_webhook_deliveries_status_created", "status", "created_at"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    endpoint_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event: so.Mapped[str] = so.mapped_column(sa.String(40))
    payload: so.Mapped[str] = so.mapped_column(sa.Text)
    status: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=DeliveryStatus.PENDING, server_default=DeliveryStatus.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())
    delivered_at: so.Mapped[datetime | None]

    endpoint: so.Mapped[WebhookEndpoint] = so.relationship()
    history: so.Mapped[list[WebhookAttempt]] = so.relationship(
        order_by="WebhookAttempt.number", passive_deletes=True, back_populates="delivery"
    )

    @property
    def last_attempt(self) -> WebhookAttempt | None:
        return self.history[-1] if self.history else None


class WebhookAttempt(db.Model):
    """What one try got back: the status code and the start of the body, or the error."""

    __tablename__ = "webhook_attempts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    delivery_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: so.Mapped[int]
    response_status: so.Mapped[int | None]
    response_excerpt: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    duration_ms: so.Mapped[int]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())

    delivery: so.Mapped[WebhookDelivery] = so.relationship(back_populates="history")

    @property
    def ok(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300
