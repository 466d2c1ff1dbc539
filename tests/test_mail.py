"""Mail: the message itself, the three backends over their real protocols, and the queue.

These tests build their own app (on the real Redis and a migrated SQLite file) instead of
the ``app`` fixture, which would run each of them twice: the outbox table is plain SQL.
"""

from __future__ import annotations

import json
import logging
import re
import socketserver
import threading
import urllib.request
import uuid
from email.utils import parseaddr, parsedate_to_datetime

import boto3
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from rq import SimpleWorker
from rq.job import Job, JobStatus

from practika import create_app
from practika.extensions import db
from practika.mail import (
    DELIVER,
    OutboxBackend,
    SesBackend,
    SmtpBackend,
    build_message,
    deliver,
    get_backend,
    parse_message,
    send_mail,
    sweep,
)
from practika.mail_outbox import OutgoingMail
from practika.queue import get_redis
from tests.conftest import make_config
from tests.services import free_port

SENDER = "no-reply@practika.test"


@pytest.fixture
def make_app(redis_server, tmp_path):
    """An app on the test's Redis with the given settings, its context pushed; Redis is
    emptied afterwards."""
    contexts = []

    def make(redis_url=redis_server.url, **settings):
        instance = tmp_path / "instance"
        database = f"sqlite:///{tmp_path / 'mail.db'}"
        app = create_app(make_config(database, redis_url, instance))
        app.config.update(settings)
        context = app.app_context()
        context.push()
        contexts.append(context)
        db.create_all()  # the migrations agree (test_models); they would also reset logging
        return app

    yield make
    for context in reversed(contexts):
        get_redis().flushdb()
        db.session.remove()
        db.engine.dispose()
        context.pop()


@pytest.fixture
def mail_app(make_app):
    return make_app()


def outbox_files(app):
    return sorted(app.config["MAIL_OUTBOX"].glob("*.eml"))


def kept(job_id: str) -> OutgoingMail:
    """The outbox row a mail job's id names (``mail-<row id>-<attempt>``)."""
    db.session.expire_all()
    return db.session.get(OutgoingMail, uuid.UUID(job_id.split("-", 1)[1].rsplit("-", 1)[0]))


def deliver_now(template: str, to: str, subject: str, **context):
    """Send a message through the outbox and run its job here, as the worker runs it; the
    message as it was kept."""
    row = kept(send_mail(template, to, subject, **context))
    msg = parse_message(row.message)
    deliver(str(row.id), 1)
    return msg


def parts(msg):
    """The text and HTML bodies of a multipart/alternative message."""
    assert msg.get_content_type() == "multipart/alternative"
    return (
        msg.get_body(preferencelist=("plain",)).get_content(),
        msg.get_body(preferencelist=("html",)).get_content(),
    )


# The message and the outbox


def test_outbox_writes_a_parseable_eml_with_both_parts_and_headers(mail_app):
    path = OutboxBackend(mail_app.config["MAIL_OUTBOX"]).send(
        build_message("test", "Ana Lima <ana@example.com>", "Test message", name="Ana")
    )

    assert outbox_files(mail_app) == [path]
    assert not list(path.parent.glob(".*"))  # no temporary file left behind
    msg = parse_message(path.read_bytes())
    assert parseaddr(msg["From"])[1] == SENDER
    assert parseaddr(msg["To"]) == ("Ana Lima", "ana@example.com")
    assert msg["Subject"] == "Test message"
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[0-9a-f]{32}@practika\.test>", msg["Message-ID"])
    assert msg["Auto-Submitted"] == "auto-generated"
    text, html = parts(msg)
    assert "Hello Ana," in text
    assert "This is a test message from Practika." in text
    assert "Hello Ana," in html
    assert "This is a test message from Practika." in html
    assert b"\r\n" in path.read_bytes()  # a .eml has the line endings of the wire


def test_the_name_is_optional(mail_app):
    text, html = parts(build_message("test", "ana@example.com", "Test message"))
    assert text.startswith("Hello,\n")
    assert "<p>Hello,</p>" in html


def test_html_part_escapes_user_provided_context(mail_app):
    name = '<script>alert("hi")</script> & Co'
    text, html = parts(build_message("test", "ana@example.com", "Test", name=name))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; Co" in html
    assert f"Hello {name}," in text  # plain text is not HTML: shown as typed


def test_non_ascii_travels_7bit_clean(mail_app):
    msg = build_message("test", "Zoë <zoe@example.com>", "Olá — teste", name="Zoë")
    data = msg.as_bytes()
    assert data.isascii()  # no relay on the way needs 8BITMIME
    received = parse_message(data)
    assert received["Subject"] == "Olá — teste"
    assert parseaddr(received["To"])[0] == "Zoë"
    assert all("Hello Zoë," in part for part in parts(received))


def test_a_line_break_in_a_header_is_refused(mail_app):
    """The address is refused; the subject (built from names people typed) is folded."""
    msg = build_message("test", "ana@example.com", "Hi\r\nBcc: victim@example.com")
    assert msg["Subject"] == "Hi Bcc: victim@example.com" and msg["Bcc"] is None
    with pytest.raises(ValueError):
        build_message("test", "ana@example.com\nBcc: victim@example.com", "Hi")


def test_outbox_names_are_unique_and_sort_in_sending_order(mail_app):
    outbox = OutboxBackend(mail_app.config["MAIL_OUTBOX"])
    sent = [build_message("test", f"user{i}@example.com", "Test") for i in range(20)]
    for msg in sent:
        outbox.send(msg)

    files = outbox_files(mail_app)
    assert len(files) == 20
    assert [parse_message(f.read_bytes())["To"] for f in files] == [m["To"] for m in sent]


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="MAIL_BACKEND"):
        get_backend({"MAIL_BACKEND": "pigeon"})


# SES over HTTP: moto's server mode


@pytest.fixture
def ses_endpoint(s3_endpoint, aws_credentials):
    """The moto server (it speaks SES too) with test credentials and a verified sender."""
    client = boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.verify_email_identity(EmailAddress=SENDER)
    return s3_endpoint


def ses_sent_messages(endpoint):
    """Every raw message moto's SES has accepted, from its model dump."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as answer:  # noqa: S310
        return json.load(answer)["ses"].get("RawMessage", [])


def test_ses_backend_delivers_over_http(make_app, ses_endpoint):
    app = make_app(MAIL_BACKEND="ses", SES_ENDPOINT_URL=ses_endpoint)
    backend = get_backend(app.config)
    assert isinstance(backend, SesBackend)
    msg = deliver_now("test", "Ana <ana@example.com>", "Over SES", name="Ana")

    [sent] = [m for m in ses_sent_messages(ses_endpoint) if msg["Message-ID"] in m["raw_data"]]
    assert parseaddr(sent["source"])[1] == SENDER
    assert [parseaddr(d)[1] for d in sent["destinations"]] == ["ana@example.com"]
    received = parse_message(sent["raw_data"].encode())
    assert received["Subject"] == "Over SES"
    assert "Hello Ana," in parts(received)[1]


def test_ses_refuses_an_unverified_sender_so_the_job_fails(make_app, ses_endpoint):
    make_app(
        MAIL_BACKEND="ses",
        SES_ENDPOINT_URL=ses_endpoint,
        MAIL_FROM=f"Practika <{uuid.uuid4().hex}@unverified.test>",
    )
    with pytest.raises(ClientError, match="MessageRejected"):
        deliver_now("test", "ana@example.com", "Over SES")


# SMTP against a real (tiny) server


class SmtpSinkHandler(socketserver.StreamRequestHandler):
    """TEST ONLY: a minimal SMTP server (RFC 5321's happy path, no AUTH, no TLS) that accepts
    every message and keeps (envelope sender, recipients, data) in ``server.messages``."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ESMTP test server")
        sender, recipients = None, []
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = command.partition(":")[2].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk  # dot-unstuffing
                self.server.messages.append((sender, recipients, data))
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            else:
                self.reply("502 Command not implemented")


@pytest.fixture
def smtp_sink():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpSinkHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_backend_delivers_to_a_local_smtp_server(make_app, smtp_sink):
    host, port = smtp_sink.server_address
    app = make_app(MAIL_BACKEND="smtp", SMTP_HOST=host, SMTP_PORT=port, SMTP_TIMEOUT=5)
    assert isinstance(get_backend(app.config), SmtpBackend)
    msg = deliver_now("test", "Ana <ana@example.com>", "Over SMTP", name="Ana")

    [(sender, recipients, data)] = smtp_sink.messages
    assert sender == f"<{SENDER}>"
    assert recipients == ["<ana@example.com>"]
    received = parse_message(data)
    assert received["Message-ID"] == msg["Message-ID"]
    assert received["Auto-Submitted"] == "auto-generated"
    assert "This is a test message from Practika." in parts(received)[0]


# The queue


def test_send_mail_keeps_the_rendered_message_and_the_job_delivers_it(mail_app):
    job_id = send_mail("test", "ana@example.com", "Queued", name="Ana")

    assert outbox_files(mail_app) == []  # nothing is sent inside the request
    job = Job.fetch(job_id, connection=get_redis())
    assert job.origin == "mail" and job.func_name == DELIVER
    assert job_id.endswith("-1")  # the first attempt
    row = kept(job_id)
    assert (row.status, row.attempts, row.job_id) == ("pending", 0, job_id)

    SimpleWorker(["mail"], connection=get_redis()).work(burst=True)  # RQ runs it here

    assert job.get_status(refresh=True) == JobStatus.FINISHED
    [path] = outbox_files(mail_app)
    msg = parse_message(path.read_bytes())
    assert msg["To"] == "ana@example.com"
    row = kept(job_id)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert row.message == b""  # a sent link does not stay in the database
    deliver(str(row.id), 1)  # a duplicate of the attempt sends nothing again
    assert len(outbox_files(mail_app)) == 1


def test_a_failed_delivery_is_retried_later_as_a_job_of_its_own(make_app):
    make_app(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    job_id = send_mail("test", "ana@example.com", "Nobody listens")

    SimpleWorker(["mail"], connection=get_redis()).work(burst=True)

    assert Job.fetch(job_id, connection=get_redis()).get_status() == JobStatus.FAILED
    row = kept(job_id)
    retry = Job.fetch(row.job_id, connection=get_redis())
    assert retry.id == job_id[:-1] + "2" and retry.get_status() == JobStatus.SCHEDULED
    assert row.status == "pending" and row.attempts == 1 and "refused" in row.last_error.lower()
    assert sweep() == {"mail_enqueued": 0}  # the scheduled retry is alive: left to wait


def test_mail_asked_for_while_redis_is_down_is_sent_when_it_is_back(own_redis, make_app, caplog):
    app = make_app(redis_url=own_redis.url)
    own_redis.process.terminate()
    own_redis.process.wait()
    with caplog.at_level(logging.ERROR, logger="practika.mail"):
        assert send_mail("test", "ana@example.com", "Kept") is None
    assert "kept for the sweep" in caplog.text
    assert db.session.scalar(sa.select(OutgoingMail.status)) == "pending"

    own_redis.socket.unlink(missing_ok=True)
    own_redis.start()  # Redis is back, empty
    assert sweep() == {"mail_enqueued": 1}
    SimpleWorker(["mail"], connection=get_redis()).work(burst=True)
    [path] = outbox_files(app)
    assert parse_message(path.read_bytes())["Subject"] == "Kept"
