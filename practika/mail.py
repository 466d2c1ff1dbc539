"""Email. One interface, three backends chosen by ``MAIL_BACKEND``.

- ``outbox`` (the embedded default): each message is a ``.eml`` file under ``MAIL_OUTBOX``,
  written to a temporary file and renamed, named so that ``sorted()`` is the order of sending;
- ``smtp``: any SMTP relay (``SMTP_HOST``, ``SMTP_PORT``, optional STARTTLS and login);
- ``ses``: Amazon SES ``SendRawEmail`` through boto3 (``SES_ENDPOINT_URL`` for another endpoint).

Mail never leaves inside a request. ``send_mail`` renders the message where the data is (the
request), then enqueues the finished bytes on the ``mail`` queue; the job, ``deliver``, only
hands them to the backend, so it needs no database and a retry sends the very same message,
Message-ID included. RQ retries a failed delivery with a growing pause.
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
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.config import Config as BotoConfig
from flask import current_app, render_template
from redis.exceptions import RedisError
from rq import Retry

from practika.queue import get_queue

log = logging.getLogger(__name__)

DELIVER = "practika.mail.deliver"  # by name: the worker imports it, the web never calls it
RETRY_INTERVALS = [10, 60, 300]  # seconds before the 1st, 2nd and 3rd retry
JOB_TIMEOUT = 60
# CRLF line ends, and bodies 7-bit clean (quoted-printable or base64 when they must), so no
# relay on the way needs 8BITMIME: smtplib does not announce it for an 8-bit body.
POLICY = email.policy.SMTP.clone(cte_type="7bit")


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
    escaped. A CR or LF in ``to`` or ``subject`` is refused (no header injection).
    """
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
    """Render the message now and queue its delivery; the job id, or None (logged) when
    Redis cannot take it right now. Call it after the commit that the mail tells about."""
    msg = build_message(template, to, subject, **context)
    job_id = "mail-" + msg["Message-ID"].strip("<>").partition("@")[0]
    try:
        job = get_queue("mail").enqueue(
            DELIVER,
            msg.as_bytes(),
            job_id=job_id,
            job_timeout=JOB_TIMEOUT,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"mail {template}",
        )
    except RedisError as error:
        log.error("mail %s not queued, Redis is unavailable: %s", template, error)
        return None
    return job.id


def parse_message(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=POLICY)  # type: ignore[return-value]


def deliver(message: bytes) -> None:
    """The job: hand the queued message to the configured backend (it raises to retry)."""
    msg = parse_message(message)
    backend = get_backend(current_app.config)
    backend.send(msg)
    recipients = len(getaddresses(msg.get_all("To", [])))
    log.info(
        "mail delivered by %s: %s to %d recipient(s)",
        type(backend).__name__,
        msg["Message-ID"],
        recipients,
    )


def absolute_url(endpoint: str, **values: Any) -> str:
    """A full link for a message, always on BASE_URL. Never from the request: its Host is
    whatever the client sent, and a reset link on an attacker's host hands them the token."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
