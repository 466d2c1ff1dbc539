"""Email. One interface, three backends chosen by ``MAIL_BACKEND``.

- ``outbox`` (the embedded default): each message is a ``.eml`` file under ``MAIL_OUTBOX``,
  written to a temporary file and renamed, named so that ``sorted()`` is the order of sending;
- ``smtp``: any SMTP relay (``SMTP_HOST``, ``SMTP_PORT``, optional STARTTLS and login);
- ``ses``: Amazon SES ``SendRawEmail`` through boto3 (``SES_ENDPOINT_URL`` for another endpoint).

Mail never leaves inside a request. ``send_mail`` renders the message where the data is (the
request), keeps the finished bytes in the outbox table (``practika.mail_outbox``), then
enqueues its delivery on the ``mail`` queue through the one enqueue path; the job,
``deliver``, hands the bytes to the backend, so a retry sends the very same message,
Message-ID included. A failed attempt is retried after a growing pause, as its own job; a
message Redis lost (an outage, a dead worker) is enqueued again by the sweep.

Some mail gathers what happens within a few minutes (``send_batched``): the first happening
keeps a message that waits ``MAIL_BATCH_SECONDS``, and each one after it, until a delivery
claims the message or its wait runs out, makes it again to list them all.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import smtplib
import ssl
import tempfile
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
import sqlalchemy as sa
from botocore.config import Config as BotoConfig
from flask import current_app, render_template

from practika.extensions import db
from practika.mail_outbox import MailStatus, OutgoingMail
from practika.model_base import utcnow
from practika.queue import (
    RETRY_DELAYS,
    attempt_job_id,
    claim_run,
    enqueue,
    lost_rows,
    retry_delay,
)
from practika.text import single_line

log = logging.getLogger(__name__)

DELIVER = "practika.mail.deliver"  # by name: the worker imports it, the web never calls it
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)
JOB_TIMEOUT = 60
# CRLF line ends, and bodies 7-bit clean (quoted-printable or base64 when they must), so no
# relay on the way needs 8BITMIME: smtplib does not announce it for an 8-bit body.
POLICY = email.policy.SMTP.clone(cte_type="7bit")
# Makes the message of a batch from the ids it lists (in order), or None when none of them
# is left to tell about.
Compose = Callable[[list[str]], EmailMessage | None]


class MailBackend(Protocol):
    def send(self, msg: EmailMessage) -> None:
        """Hand the message over for delivery; raise when it was not accepted."""


class OutboxBackend:
    """A folder of ``.eml`` files: development, tests, and the end-to-end test's inbox."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, msg: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(msg.as_bytes())
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target


class SmtpBackend:
    """An SMTP relay; the envelope comes from the From and To headers."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)


class SesBackend:
    """Amazon SES (or anything that speaks its API, such as moto's server)."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.client = boto3.client(
            "ses",
            region_name=region,
            endpoint_url=endpoint_url,
            config=BotoConfig(
                connect_timeout=3,
                read_timeout=20,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def send(self, msg: EmailMessage) -> str:
        """Send; return SES's message id."""
        answer = self.client.send_raw_email(Source=msg["From"], RawMessage={"Data": msg.as_bytes()})
        return answer["MessageId"]


def get_backend(config: Mapping[str, Any]) -> MailBackend:
    """The backend ``MAIL_BACKEND`` names, built from the app's config (config.py parses it)."""
    name = config["MAIL_BACKEND"]
    if name == "outbox":
        return OutboxBackend(Path(config["MAIL_OUTBOX"]))
    if name == "smtp":
        return SmtpBackend(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            username=config["SMTP_USERNAME"],
            password=config["SMTP_PASSWORD"],
            starttls=config["SMTP_STARTTLS"],
            timeout=config["SMTP_TIMEOUT"],
        )
    if name == "ses":
        return SesBackend(config["AWS_REGION"], endpoint_url=config["SES_ENDPOINT_URL"])
    raise ValueError(f"MAIL_BACKEND must be outbox, smtp or ses, not {name!r}")


def build_message(template: str, to: str, subject: str, **context: Any) -> EmailMessage:
    """The message, rendered from ``templates/mail/<template>.txt`` and ``.html``.

    The HTML part is autoescaped like every page; the text part is not HTML and is not
    escaped. A CR or LF in ``to`` is refused (no header injection). The subject is folded
    to one line: it is built from names people typed, and a row stored before names were
    kept to one line must not fail the request whose mail it is.
    """
    subject = single_line(subject)
    sender = current_app.config["MAIL_FROM"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "practika.invalid"
    context = {"to": to, "subject": subject, **context}
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_template(f"mail/{template}.txt", **context))
    msg.add_alternative(render_template(f"mail/{template}.html", **context), subtype="html")
    return msg


def send_mail(template: str, to: str, subject: str, **context: Any) -> str | None:
    """Render the message now, keep it in the outbox and queue its delivery; the job id, or
    None (logged) when Redis cannot take it now: the message is kept and the sweep queues
    it when Redis is back. Call it after the commit that the mail tells about.

    The outbox row is written on a connection of its own, in its own short transaction, so
    it neither commits nor waits for whatever the caller's session holds."""
    row = _outbox_row(template, build_message(template, to, subject, **context))
    with db.engine.begin() as connection:
        connection.execute(sa.insert(OutgoingMail).values(**row))
    return _enqueue(row["id"], 1, template)


def keep_mail(template: str, to: str, subject: str, **context: Any) -> uuid.UUID:
    """``send_mail``'s first half inside the caller's transaction: the message is kept if and
    only if what it tells about is committed, so a crash in between neither loses it nor
    sends it twice. After the commit, ``queue_kept`` queues its delivery (should that not
    happen, the sweep does). Its id."""
    row = _outbox_row(template, build_message(template, to, subject, **context))
    db.session.add(OutgoingMail(**row))
    return row["id"]


def queue_kept(mail_id: uuid.UUID, template: str) -> str | None:
    """Queue the delivery of a message ``keep_mail`` kept, once its transaction committed."""
    return _enqueue(mail_id, 1, template)


def send_batched(template: str, key: str, item: str, compose: Compose) -> str | None:
    """``send_mail`` for a happening that may come with others: ``item`` joins the open
    message of ``key``, made again by ``compose`` to list all its items in order, or starts
    one that waits ``MAIL_BATCH_SECONDS`` (from its first item, never extended) before its
    delivery. The job id of a new message, else None. Call it after the commit.

    A message is open while its wait runs and no delivery has claimed it. Adding to it
    holds the row's lock until the new message is kept, so a delivery claiming it meanwhile
    waits and sends the new message; a claim that came first closes it, and the item starts
    a message of its own: an item is never lost between the two. (Two first items at the
    very same moment may each start a message: two mails, nothing lost.)"""
    window = current_app.config["MAIL_BATCH_SECONDS"]
    with db.engine.begin() as connection:
        held = _hold_unclaimed(connection, key, OutgoingMail.next_try_at > utcnow())
        if held:
            _remake(connection, held[0].id, [*held[0].batch_items, item], compose)
            return None
    msg = compose([item])
    if msg is None:  # deleted before its mail was made
        return None
    row = _outbox_row(template, msg, batch_key=key, batch_items=[item])
    row["next_try_at"] += timedelta(seconds=window)
    with db.engine.begin() as connection:
        connection.execute(sa.insert(OutgoingMail).values(**row))
    return _enqueue(row["id"], 1, template, delay=window)


def rebatch(key: str, item: str, compose: Compose) -> None:
    """Make again the waiting messages of ``key`` that list ``item`` (edited or deleted since);
    one that has nothing left to tell about is dropped, and its job finds nothing to send."""
    with db.engine.begin() as connection:
        for row in _hold_unclaimed(connection, key):
            if item in row.batch_items:
                _remake(connection, row.id, row.batch_items, compose)


def drop_batches(key_prefix: str) -> None:
    """Drop the waiting messages whose key starts with ``key_prefix``: what they tell about
    is gone (a deleted thread or exercise). One a delivery claimed already is left to it."""
    with db.engine.begin() as connection:
        connection.execute(
            sa.delete(OutgoingMail).where(
                OutgoingMail.batch_key.startswith(key_prefix, autoescape=True), *_unclaimed()
            )
        )


def _unclaimed() -> tuple[sa.ColumnElement[bool], ...]:
    """A message no delivery has claimed yet: it may still change."""
    return OutgoingMail.status == MailStatus.PENDING, OutgoingMail.attempts == 0


def _hold_unclaimed(
    connection: sa.Connection, key: str, *conditions: sa.ColumnElement[bool]
) -> list[sa.Row]:
    """The unclaimed messages of ``key`` (and ``conditions``), oldest first, locked until the
    transaction ends. The lock is an UPDATE that changes nothing, because a SELECT ... FOR
    UPDATE locks nothing in SQLite; a delivery's claim, or another item, waits behind it."""
    rows = connection.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.batch_key == key, *_unclaimed(), *conditions)
        .values(batch_key=OutgoingMail.batch_key)
        .returning(OutgoingMail.id, OutgoingMail.batch_items, OutgoingMail.next_try_at)
    ).all()
    return sorted(rows, key=lambda row: row.next_try_at)


def _remake(
    connection: sa.Connection, mail_id: uuid.UUID, items: list[str], compose: Compose
) -> None:
    """Keep the message ``compose`` makes of ``items`` in place of the held one, or drop it."""
    msg = compose(items)
    if msg is None:
        connection.execute(sa.delete(OutgoingMail).where(OutgoingMail.id == mail_id))
        return
    connection.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail_id)
        .values(message=msg.as_bytes(), batch_items=items)
    )


def _outbox_row(template: str, msg: EmailMessage, **batch: Any) -> dict[str, Any]:
    """The outbox row of a message made now, waiting for its first attempt."""
    mail_id = uuid.uuid4()
    return {
        "id": mail_id,
        "template": template[:40],
        "message": msg.as_bytes(),
        "job_id": attempt_job_id("mail", mail_id, 1),
        "status": MailStatus.PENDING,
        "attempts": 0,
        "next_try_at": utcnow(),
        **batch,
    }


def _enqueue(mail_id: uuid.UUID, attempt: int, template: str, delay: int = 0) -> str | None:
    """Queue attempt number ``attempt`` (its id is already on the row)."""
    job_id = attempt_job_id("mail", mail_id, attempt)
    queued = enqueue(
        "mail",
        DELIVER,
        str(mail_id),
        attempt,
        job_id=job_id,
        job_timeout=JOB_TIMEOUT,
        delay=delay,
        description=f"mail {template}",
    )
    if queued is None:
        log.error("mail %s not queued, Redis is unavailable; kept for the sweep", mail_id)
    return queued


def parse_message(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=POLICY)  # type: ignore[return-value]


def deliver(mail_id: str, attempt: int) -> None:
    """The job: attempt number ``attempt`` at handing the kept message to the backend.

    It claims the attempt first (a duplicate of it finds it claimed and does nothing); a
    failure schedules the next attempt as a new job, or marks the message failed after the
    last, and then raises so that RQ records the failure with its traceback."""
    mail_uuid = uuid.UUID(mail_id)
    pending = OutgoingMail.status == MailStatus.PENDING
    if not claim_run(OutgoingMail.attempts, attempt, OutgoingMail.id == mail_uuid, pending):
        log.info("mail %s attempt %d is not due; nothing to do", mail_id, attempt)
        return
    kept = db.session.get(OutgoingMail, mail_uuid)
    data, template = kept.message, kept.template
    db.session.close()  # no connection held while a relay takes its time
    try:
        msg = parse_message(data)
        backend = get_backend(current_app.config)
        backend.send(msg)
    except Exception as error:
        _retry_or_give_up(mail_uuid, attempt, template, error)
        raise
    db.session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail_uuid)
        .values(status=MailStatus.SENT, sent_at=utcnow(), message=b"", last_error=None)
    )
    db.session.commit()
    recipients = len(getaddresses(msg.get_all("To", [])))
    log.info(
        "mail delivered by %s: %s to %d recipient(s)",
        type(backend).__name__,
        msg["Message-ID"],
        recipients,
    )


def _retry_or_give_up(mail_id: uuid.UUID, attempt: int, template: str, error: Exception) -> None:
    reason = single_line(f"{type(error).__name__}: {error}")[:500]
    if attempt >= MAX_ATTEMPTS:
        log.error("mail %s failed for good after %d attempts: %s", mail_id, attempt, reason)
        values: dict[str, Any] = {"status": MailStatus.FAILED, "message": b""}
    else:
        delay = retry_delay(attempt)
        log.warning(
            "mail %s attempt %d failed (%s); trying again in %d s", mail_id, attempt, reason, delay
        )
        values = {
            "job_id": attempt_job_id("mail", mail_id, attempt + 1),
            "next_try_at": utcnow() + timedelta(seconds=delay),
        }
    db.session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail_id)
        .values(last_error=reason, **values)
    )
    db.session.commit()
    if attempt < MAX_ATTEMPTS:
        _enqueue(mail_id, attempt + 1, template, delay=delay)


def sweep() -> dict[str, int]:
    """Enqueue pending messages whose job Redis does not hold (lost in an outage, or left by
    a killed worker), each at its next try; how many."""
    pending = db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.status == MailStatus.PENDING)
    ).all()
    enqueued = 0
    for mail in lost_rows("mail", pending):
        attempt = mail.attempts + 1
        if attempt > MAX_ATTEMPTS:  # its last attempt died with its worker
            mail.status, mail.message = MailStatus.FAILED, b""
            db.session.commit()
            continue
        mail.job_id = attempt_job_id("mail", mail.id, attempt)
        db.session.commit()
        wait = max(0, round((mail.next_try_at - utcnow()).total_seconds()))
        enqueued += _enqueue(mail.id, attempt, mail.template, delay=wait) is not None
    return {"mail_enqueued": enqueued}


def absolute_url(endpoint: str, **values: Any) -> str:
    """A full link for a message, always on BASE_URL. Never from the request: its Host is
    whatever the client sent, and a reset link on an attacker's host hands them the token."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
