"""The webhook job: one signed POST of a delivery's body, its answer recorded, retried by RQ.

Each run is one attempt. It resolves the endpoint's host again and connects only to the
addresses the guard passed (so a DNS answer that changed since registration, or changes
between the check and the connection, cannot reach an internal service), sends with short
timeouts, never follows a redirect (http.client does not), and keeps the status code and the
start of the answer. A non-2xx answer or a network error raises while RQ has retries left
(WEBHOOK_RETRY_INTERVALS); after the last one the delivery is ``failed`` and the job ends
quietly: the row, not RQ's failed jobs, is where staff see and redeliver it.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq import get_current_job

from practika.extensions import db
from practika.model_base import utcnow
from practika.queue import lost_rows
from practika.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from practika.webhooks.services import (
    QUEUE,
    SIGNATURE_HEADER,
    WebhookError,
    parse_target,
    requeue,
    resolve,
    sign,
)

log = logging.getLogger(__name__)
EXCERPT_BYTES = 2048  # read no more of an answer than this
EXCERPT_CHARS = 1000  # and keep this much of it
USER_AGENT = "Practika-Webhooks/1"


class DeliveryFailed(Exception):
    """An attempt that did not get a 2xx; raised so that RQ retries the job."""


@dataclass
class Answer:
    status: int | None = None
    excerpt: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float
) -> Answer:
    """POST ``body`` to ``url`` through the address guard; the answer, never a redirect
    followed. Raises WebhookError (refused target), OSError or HTTPException."""
    target = parse_target(url)
    addresses = resolve(target, allow_private=allow_private)

    def connect_checked(address, timeout=timeout, source_address=None):
        """Connect to the first checked address that answers (never resolve again)."""
        error: OSError | None = None
        for ip in addresses:
            try:
                return socket.create_connection((ip, address[1]), timeout, source_address)
            except OSError as failure:
                error = failure
        raise error or OSError("no address to connect to")

    if target.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    # http.client's own hook for opening the socket: the TLS name check and the Host header
    # still use the host name, only the address is pinned.
    connection._create_connection = connect_checked  # type: ignore[attr-defined]
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")[:EXCERPT_CHARS]
        if 300 <= response.status < 400:
            where = response.getheader("Location", "")[:200]
            excerpt = f"(redirect to {where} not followed) {excerpt}".strip()
        return Answer(response.status, excerpt)
    finally:
        connection.close()


def _describe(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return "Timed out waiting for the endpoint."
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused."
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


def deliver(delivery_id: str) -> None:
    """The job: one attempt at the delivery; raises DeliveryFailed while RQ may retry."""
    delivery = db.session.get(WebhookDelivery, uuid.UUID(delivery_id))
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        log.info("webhook delivery %s is not pending; nothing to do", delivery_id)
        return
    endpoint = delivery.endpoint
    config = current_app.config
    url, secret, active, event = endpoint.url, endpoint.secret, endpoint.is_active, delivery.event
    body = delivery.payload.encode()
    number = delivery.attempts + 1
    db.session.close()  # no connection held while a receiver takes its time

    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Practika-Event": event,
        "X-Practika-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(secret, body),
    }
    started = time.monotonic()
    if not active:
        answer = Answer(error="The endpoint is switched off.")
    else:
        try:
            answer = post(
                url,
                body,
                headers,
                allow_private=config["WEBHOOK_ALLOW_PRIVATE"],
                timeout=config["WEBHOOK_TIMEOUT"],
            )
        except WebhookError as refused:
            answer = Answer(error=str(refused))
        except (OSError, http.client.HTTPException) as error:
            answer = Answer(error=_describe(error))
    duration_ms = round((time.monotonic() - started) * 1000)

    job = get_current_job()
    retries_left = (job.retries_left or 0) if job is not None else 0
    final = answer.ok or not active or retries_left <= 0
    if answer.ok:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    db.session.add(
        WebhookAttempt(
            delivery_id=uuid.UUID(delivery_id),
            number=number,
            response_status=answer.status,
            response_excerpt=answer.excerpt,
            error=answer.error,
            duration_ms=duration_ms,
        )
    )
    db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == uuid.UUID(delivery_id))
        .values(
            attempts=WebhookDelivery.attempts + 1,
            status=status,
            delivered_at=utcnow() if answer.ok else None,
        )
    )
    db.session.commit()
    reason = answer.error or f"HTTP {answer.status}"
    if answer.ok:
        log.info("webhook %s delivered: %s in %d ms", delivery_id, reason, duration_ms)
    elif final:
        log.warning("webhook %s failed for good after %d attempts: %s", delivery_id, number, reason)
    else:
        raise DeliveryFailed(f"webhook {delivery_id} attempt {number}: {reason}; RQ retries it")


def sweep(older_than: int = 120) -> dict[str, int]:
    """Enqueue pending deliveries whose job Redis no longer holds (lost while Redis was down,
    or left by a killed worker); rows younger than ``older_than`` seconds are left to their
    own enqueue. How many were enqueued."""
    before = utcnow() - timedelta(seconds=older_than)
    pending = db.session.scalars(
        sa.select(WebhookDelivery).where(
            WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.created_at < before
        )
    ).all()
    enqueued = 0
    for delivery in lost_rows(QUEUE, pending):
        enqueued += requeue(delivery)
    return {"webhooks_enqueued": enqueued}
