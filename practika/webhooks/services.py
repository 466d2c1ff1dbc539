"""Webhook verbs: register an endpoint, guard its address, sign a body, emit an event.

``emit`` is what the rest of the app calls, once, after the commit that made the event
true. It only writes one delivery row per subscribed endpoint (the outbox) and enqueues a job
for each; it never sends anything and never raises into its caller. The job
(``practika.webhooks.delivery.deliver``) sends, records and retries.

Signing. Each request carries ``X-Practika-Signature: t=<unix time>,v1=<hex>``, where the hex
is HMAC-SHA256, keyed with the endpoint's secret, over ``f"{t}.{body}"`` (the raw request
body, UTF-8). A receiver recomputes it over the bytes it received, compares in constant time,
and refuses a ``t`` more than a few minutes away from its clock (a replay). In Python::

    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, v1) and abs(time.time() - t) <= 300

which is what ``verify_signature`` does. ``X-Practika-Delivery`` is the delivery's id (the
same on every retry of it) and the body's ``id`` the event's, for receivers that deduplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from rq import Retry

from practika.accounts.models import User
from practika.extensions import db
from practika.model_base import utcnow
from practika.queue import get_queue, job_alive
from practika.text import single_line
from practika.webhooks.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

EVENTS = tuple(event.value for event in Event)
QUEUE = "webhooks"
DELIVER = "practika.webhooks.delivery.deliver"  # by name: the worker imports it, the web never
JOB_TIMEOUT = 60  # a few 5 s socket timeouts and the database around them
MAX_URL = 2000
SIGNATURE_HEADER = "X-Practika-Signature"
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class WebhookError(ValueError):
    """An endpoint or target that is refused, with a reason staff can act on."""


# ---- The address guard ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA), no brackets
    port: int
    path: str  # path and query, what goes on the request line


def parse_target(url: str) -> Target:
    """The URL's parts, or WebhookError: http(s) only, a host, no credentials."""
    url = (url or "").strip()
    if not url:
        raise WebhookError("Enter the URL that should receive the events.")
    if len(url) > MAX_URL:
        raise WebhookError(f"Keep the URL under {MAX_URL} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise WebhookError("The URL may not contain spaces or control characters.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookError("Only http:// and https:// URLs can receive webhooks.")
    if "@" in parts.netloc:
        raise WebhookError(
            "Leave user names and passwords out of the URL: receivers check the signature."
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise WebhookError("The URL's port is not a number from 1 to 65535.") from None
    host = parts.hostname or ""
    if not host:
        raise WebhookError("The URL needs a host name.")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise WebhookError("The URL's host name is not valid.") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, path)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or getattr(ip, "is_site_local", False)
    )


def is_public_address(address: str) -> bool:
    """True for an address on the public internet. IPv6 forms that carry an IPv4 address
    (mapped ``::ffff:a.b.c.d``, 6to4, NAT64) are judged by the IPv4 address inside too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _public(ip.ipv4_mapped)
        inner = ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None
        )
        if inner is not None and not _public(inner):
            return False
    return _public(ip)


def resolve(target: Target, *, allow_private: bool) -> list[str]:
    """The target's addresses; WebhookError if it has none, or if any of them is not public
    (unless ``allow_private``). Deliveries connect only to addresses this returned."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookError(f"{target.host} could not be resolved to an address.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise WebhookError(f"{target.host} could not be resolved to an address.")
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                where = address if address == target.host else f"{target.host} is at {address},"
                raise WebhookError(
                    f"{where} a loopback, private or reserved address: webhooks only go to "
                    "public addresses."
                )
    return addresses


def check_url(url: str, *, allow_private: bool | None = None) -> Target:
    """The guard, as registration and every delivery run it: the URL's form, then where it
    points now. ``allow_private`` defaults to the WEBHOOK_ALLOW_PRIVATE setting."""
    if allow_private is None:
        allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    target = parse_target(url)
    resolve(target, allow_private=allow_private)
    return target


# ---- Signing ----------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The ``X-Practika-Signature`` value for ``body``: ``t=<unix>,v1=<hex>``."""
    body = body.encode() if isinstance(body, str) else body
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str, body: bytes | str, tolerance: int = 300, now: float | None = None
) -> bool:
    """What a receiver does: True if ``header`` signs exactly ``body`` with ``secret`` and
    its timestamp is within ``tolerance`` seconds of ``now``."""
    body = body.encode() if isinstance(body, str) else body
    fields: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


# ---- Endpoints --------------------------------------------------------------------------


def _clean_events(events: list[str]) -> list[str]:
    chosen = [event for event in EVENTS if event in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise WebhookError("Choose at least one event: " + ", ".join(EVENTS) + ".")
    return chosen


def register_endpoint(
    url: str, events: list[str], *, description: str = "", created_by: User | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its signing secret (shown once). Raises WebhookError.
    The caller commits."""
    description = single_line(description or "")  # shown in lists and logs: one line
    if len(description) > 200:
        raise WebhookError("Keep the description under 200 characters.")
    events = _clean_events(events)
    check_url(url)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url.strip(),
        events=events,
        description=description,
        secret=secret,
        created_by=created_by,
    )
    db.session.add(endpoint)
    return endpoint, secret


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret for the endpoint; the old one stops signing at once. The caller commits."""
    endpoint.secret = new_secret()
    return endpoint.secret


# ---- Events and deliveries ----------------------------------------------------------------


def _iso(moment) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment is not None else None


def _video_data(asset) -> dict[str, Any]:
    return {
        "id": str(asset.id),
        "status": str(asset.processing_status),
        "duration_sec": asset.duration_sec,
        "width": asset.width,
        "height": asset.height,
        "error": asset.processing_error,
    }


def _attempt_data(attempt) -> dict[str, Any]:
    return {
        "id": str(attempt.id),
        "exercise_id": str(attempt.exercise_id),
        "author": attempt.author.username,
        "video_id": str(attempt.video_asset_id),
        "created_at": _iso(attempt.created_at),
    }


def _comment_data(comment) -> dict[str, Any]:
    parent, video = comment.parent_id, comment.video_asset_id
    return {
        "id": str(comment.id),
        "exercise_id": str(comment.exercise_id),
        "parent_id": str(parent) if parent else None,
        "at_seconds": comment.at_seconds,
        "author": comment.author.username,
        "video_id": str(video) if video else None,
        # A voice comment's recording is a video of kind voice (sound only).
        "video_kind": None if video is None else comment.video_asset.kind,
        "drawing": comment.drawing,
        "created_at": _iso(comment.created_at),
    }


DATA = {
    Event.VIDEO_READY: _video_data,
    Event.VIDEO_FAILED: _video_data,
    Event.ATTEMPT_SUBMITTED: _attempt_data,
    Event.COMMENT_CREATED: _comment_data,
}


def payload(event: str, subject: Any) -> str:
    """The JSON body for ``event`` about ``subject`` (a video, an attempt, a comment): ids,
    states and user names, never an email address or a secret."""
    body = {
        "id": str(uuid.uuid4()),
        "event": event,
        "created_at": _iso(utcnow()),
        "data": DATA[Event(event)](subject),
    }
    return json.dumps(body, separators=(",", ":"))


def emit(event: str, subject: Any) -> int:
    """Record a delivery for each active endpoint subscribed to ``event``, then enqueue them;
    how many were recorded. Call it after the commit that made the event true. It never
    raises: a webhook must not break what the user did (failures are logged)."""
    try:
        endpoints = [
            endpoint
            for endpoint in db.session.scalars(
                sa.select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True))
            )
            if endpoint.wants(event)
        ]
        if not endpoints:
            return 0
        body = payload(event, subject)
        deliveries = [
            WebhookDelivery(endpoint=endpoint, event=event, payload=body, job_id=_job_id())
            for endpoint in endpoints
        ]
        db.session.add_all(deliveries)
        db.session.commit()
    except Exception:
        log.exception("webhook event %s could not be recorded", event)
        db.session.rollback()
        return 0
    for delivery in deliveries:
        enqueue_delivery(delivery)
    return len(deliveries)


def _job_id() -> str:
    return f"webhook-{uuid.uuid4().hex}"


def enqueue_delivery(delivery: WebhookDelivery) -> bool:
    """Queue the delivery's job (its row committed, with its job id); False, logged, when
    Redis cannot take it now: the row stays pending for the sweep or a redeliver."""
    intervals = list(current_app.config["WEBHOOK_RETRY_INTERVALS"])
    try:
        get_queue(QUEUE).enqueue(
            DELIVER,
            str(delivery.id),
            job_id=delivery.job_id,
            job_timeout=JOB_TIMEOUT,
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"webhook {delivery.event}",
        )
    except RedisError as error:
        log.error("webhook delivery %s not queued, Redis is unavailable: %s", delivery.id, error)
        return False
    return True


def redeliver(delivery: WebhookDelivery) -> str:
    """Send the delivery again with a fresh retry budget (a failed or succeeded one, or a
    pending one whose job Redis lost). A message for staff; raises WebhookError."""
    if not delivery.endpoint.is_active:
        raise WebhookError("Switch the endpoint on before sending to it again.")
    try:
        if delivery.status == DeliveryStatus.PENDING and job_alive(QUEUE, delivery.job_id):
            return "That delivery is already on its way."
    except RedisError:
        raise WebhookError("The job queue is unavailable; try again in a minute.") from None
    delivery.status = DeliveryStatus.PENDING
    delivery.delivered_at = None
    if not requeue(delivery):
        return "Saved as pending: the queue is unavailable; the worker sends it when it is back."
    return "Sending it again."


def requeue(delivery: WebhookDelivery) -> bool:
    """A new job for the delivery: its id committed on the row first, then enqueued."""
    delivery.job_id = _job_id()
    db.session.commit()
    return enqueue_delivery(delivery)
