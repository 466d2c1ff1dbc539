"""Webhooks: signing, the RQ job against real HTTP receivers, retries, the address guard, the
staff page, and each event recorded where it happens.

The receivers are real HTTP servers on 127.0.0.1 in this process; loopback is what the guard
refuses, so tests that deliver to them allow private addresses in their app's config. Jobs
run in this process by RQ's SimpleWorker (the real queue, the real retry), and once through
a real ``python worker.py``.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from flask import current_app
from rq import SimpleWorker
from rq.job import Job

from practika.comments.models import VideoComment
from practika.comments.services import announce_attempts
from practika.core.models import VideoAsset
from practika.core.services import store_upload
from practika.core.tasks import process_video
from practika.extensions import db
from practika.queue import connect, get_queue, get_redis
from practika.webhooks import delivery as webhook_delivery
from practika.webhooks.delivery import deliver
from practika.webhooks.models import WebhookDelivery, WebhookEndpoint
from practika.webhooks.services import (
    EVENTS,
    WebhookError,
    check_url,
    emit,
    is_public_address,
    register_endpoint,
    sign,
    verify_signature,
)
from tests.conftest import (
    count_rows,
    exercise_with_model,
    log_in,
    make_playable,
    publish_to,
    running_worker,
    wait_for,
)
from tests.services import free_port

HTMX = {"HX-Request": "true"}


# ---- A real HTTP receiver ------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that records each request and answers from a script:
    each answer is a status code, or (status, headers) ; after the script, 200."""

    def __init__(self, *answers, delay: float = 0.0) -> None:
        self.answers = deque(answers)
        self.delay = delay
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                time.sleep(receiver.delay)
                answer = receiver.answers.popleft() if receiver.answers else 200
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                reply = b'{"ok": true}' if status < 300 else b"receiver says boom"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_: None  # a client that gave up (the timeout test)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/practika?source=test"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(*answers, delay: float = 0.0) -> Receiver:
        started.append(Receiver(*answers, delay=delay))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def hook_app(app):
    """The app, allowed to deliver to loopback (the receivers), retrying at once."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_INTERVALS=[0, 0])
    return app


def add_endpoint(url: str, events=EVENTS) -> tuple[int, str]:
    endpoint, secret = register_endpoint(url, list(events), description="test")
    db.session.commit()
    return endpoint.id, secret


def run_jobs() -> None:
    """Run what the webhooks queue holds, retries included, in this process, in an app
    context of its own as the worker runs them (not in the test's session)."""
    with current_app.app_context():
        SimpleWorker(["webhooks"], connection=get_redis()).work(burst=True)


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


@pytest.fixture
def exercise(app, teacher, classroom):
    """The teacher's exercise, published to the class the student is in."""
    return publish_to(exercise_with_model(teacher), classroom)


# ---- Signing ---------------------------------------------------------------------------------


def test_a_signature_verifies_only_the_body_it_signed_within_the_tolerance():
    body = b'{"id":"1","event":"video.ready"}'
    header = sign("whsec_abc", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature("whsec_abc", header, body, now=1_700_000_100)
    assert verify_signature("whsec_abc", header, body.decode(), now=1_700_000_100)
    assert not verify_signature(
        "whsec_abc", header, body.replace(b"ready", b"fails"), now=1_700_000_100
    )
    assert not verify_signature("whsec_other", header, body, now=1_700_000_100)
    assert not verify_signature("whsec_abc", header, body, now=1_700_000_301)  # a replay
    forged_time = header.replace("t=1700000000", "t=1700000200")
    assert not verify_signature("whsec_abc", forged_time, body, now=1_700_000_200)
    for junk in ("", "v1=abc", "t=soon,v1=abc", "garbage"):
        assert not verify_signature("whsec_abc", junk, body)


# ---- Delivery: the job against real receivers ---------------------------------------------


def test_a_comment_posted_on_the_page_is_delivered_signed(
    hook_app, receivers, client, exercise, student
):
    receiver = receivers()
    endpoint_id, secret = add_endpoint(receiver.url, ["comment.created"])
    exercise_id = exercise.id
    log_in(client, student.email)

    response = client.post(
        f"/comments/exercises/{exercise_id}", data={"text": "How fast?"}, headers=HTMX
    )

    assert response.status_code == 200
    [delivery] = deliveries()
    assert (delivery.event, delivery.status, delivery.attempts) == ("comment.created", "pending", 0)
    assert receiver.requests == []  # nothing is sent inside the request
    job = Job.fetch(delivery.job_id, connection=get_redis())
    assert job.origin == "webhooks" and job.retries_left == 2

    run_jobs()

    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks/practika?source=test"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Practika-Event"] == "comment.created"
    assert headers["X-Practika-Delivery"] == str(delivery.id)
    assert verify_signature(secret, headers["X-Practika-Signature"], body)
    assert not verify_signature(secret, headers["X-Practika-Signature"], body + b" ")
    comment = db.session.scalar(sa.select(VideoComment))
    message = json.loads(body)
    assert set(message) == {"id", "event", "created_at", "data"}
    assert message["event"] == "comment.created" and message["created_at"].endswith("Z")
    assert message["data"] == {
        "id": str(comment.id),
        "exercise_id": str(exercise_id),
        "parent_id": None,
        "at_seconds": None,
        "author": "sam",
        "video_id": None,
        "video_kind": None,
        "drawing": None,
        "created_at": message["data"]["created_at"],
    }
    assert b"@example.com" not in body and secret.encode() not in body
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    [attempt] = delivery.history
    assert attempt.response_status == 200 and attempt.response_excerpt == '{"ok": true}'
    assert attempt.duration_ms >= 0 and attempt.error is None
    assert db.session.get(WebhookEndpoint, endpoint_id).is_active


def test_a_500_is_retried_and_every_attempt_is_recorded(hook_app, receivers, teacher):
    receiver = receivers(500)
    add_endpoint(receiver.url)
    asset = VideoAsset(
        owner=teacher, processing_status="ready", duration_sec=2.0, width=320, height=240
    )
    db.session.add(asset)
    db.session.commit()
    asset_id = asset.id

    assert emit("video.ready", asset) == 1
    run_jobs()  # the first attempt gets a 500, RQ retries it, the second gets a 200

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert [(a.number, a.response_status) for a in delivery.history] == [(1, 500), (2, 200)]
    assert delivery.history[0].response_excerpt == "receiver says boom"
    first, second = receiver.requests
    assert first["body"] == second["body"]  # a retry sends the very same message
    assert first["headers"]["X-Practika-Delivery"] == second["headers"]["X-Practika-Delivery"]
    data = json.loads(second["body"])["data"]
    assert data == {
        "id": str(asset_id),
        "status": "ready",
        "duration_sec": 2.0,
        "width": 320,
        "height": 240,
        "error": None,
    }


def test_retries_are_bounded_and_staff_can_send_a_failed_delivery_again(
    hook_app, receivers, client, staff_user, teacher
):
    receiver = receivers(500, 502, 503)  # three answers: every attempt RQ allows fails
    add_endpoint(receiver.url, ["video.failed"])
    log_in(client, staff_user.email)
    asset = VideoAsset(owner=teacher, processing_status="failed", processing_error="Bad file")
    db.session.add(asset)
    db.session.commit()
    emit("video.failed", asset)
    run_jobs()

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert [a.response_status for a in delivery.history] == [500, 502, 503]
    page = client.get("/webhooks/").get_data(as_text=True)
    assert "failed" in page and "HTTP 503" in page and "receiver says boom" in page

    response = client.post(f"/webhooks/deliveries/{delivery.id}/redeliver", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="webhook-deliveries"')
    assert "Sending it again." in html
    assert 'hx-trigger="load delay:5s"' in html  # pending again: the list polls
    run_jobs()

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("succeeded", 4)
    assert len(receiver.requests) == 4


def test_the_job_outside_rq_makes_one_attempt_and_records_it(hook_app, receivers, teacher):
    """Called directly (no RQ job, so no retries left), a failure is final at once."""
    receiver = receivers(500)
    add_endpoint(receiver.url)
    asset = VideoAsset(owner=teacher, processing_status="ready")
    db.session.add(asset)
    db.session.commit()
    emit("video.ready", asset)
    get_queue("webhooks").empty()
    [delivery] = deliveries()

    deliver(str(delivery.id))
    deliver(str(delivery.id))  # not pending any more: nothing happens

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("failed", 1, 1)


def test_a_redirect_is_not_followed(hook_app, receivers, teacher):
    elsewhere = receivers()
    receiver = receivers((302, {"Location": elsewhere.url}))
    add_endpoint(receiver.url)
    hook_app.config["WEBHOOK_RETRY_INTERVALS"] = []  # no retries: one attempt tells it all
    asset = VideoAsset(owner=teacher, processing_status="ready")
    db.session.add(asset)
    db.session.commit()
    emit("video.ready", asset)
    run_jobs()

    [delivery] = deliveries()
    assert delivery.status == "failed" and delivery.history[0].response_status == 302
    assert "not followed" in delivery.history[0].response_excerpt
    assert len(receiver.requests) == 1 and elsewhere.requests == []


def test_a_slow_receiver_times_out(hook_app, receivers, teacher):
    receiver = receivers(delay=1.5)
    add_endpoint(receiver.url)
    hook_app.config.update(WEBHOOK_TIMEOUT=0.5, WEBHOOK_RETRY_INTERVALS=[])
    asset = VideoAsset(owner=teacher, processing_status="ready")
    db.session.add(asset)
    db.session.commit()
    emit("video.ready", asset)
    run_jobs()

    [delivery] = deliveries()
    [attempt] = delivery.history
    assert delivery.status == "failed" and attempt.error == "Timed out waiting for the endpoint."
    assert 450 <= attempt.duration_ms < 1400  # it gave up at the timeout, not at the answer


def test_the_guard_runs_again_at_delivery(hook_app, receivers, teacher):
    """Registered while private addresses were allowed (or while its DNS said otherwise):
    at delivery time the loopback address is refused and nothing is sent."""
    receiver = receivers()
    add_endpoint(receiver.url)
    hook_app.config.update(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_RETRY_INTERVALS=[])
    asset = VideoAsset(owner=teacher, processing_status="ready")
    db.session.add(asset)
    db.session.commit()
    emit("video.ready", asset)
    run_jobs()

    [delivery] = deliveries()
    assert delivery.status == "failed" and receiver.requests == []
    assert "127.0.0.1" in delivery.history[0].error
    assert "only go to public addresses" in delivery.history[0].error


def test_a_real_worker_delivers(hook_app, receivers, client, exercise, student):
    receiver = receivers()
    _, secret = add_endpoint(receiver.url, ["comment.created"])
    log_in(client, student.email)
    with running_worker(hook_app, WEBHOOK_ALLOW_PRIVATE="true"):
        client.post(f"/comments/exercises/{exercise.id}", data={"text": "Hi"}, headers=HTMX)
        wait_for(lambda: deliveries()[0].status == "succeeded", what="the webhook delivery")
    [request] = receiver.requests
    assert verify_signature(secret, request["headers"]["X-Practika-Signature"], request["body"])


# ---- The outbox: Redis down ----------------------------------------------------------------


def test_emit_never_raises_when_redis_is_down_and_the_row_goes_out_later(
    hook_app, receivers, client, exercise, student, monkeypatch, caplog
):
    receiver = receivers()
    add_endpoint(receiver.url, ["comment.created"])
    redis = hook_app.extensions["redis"]
    monkeypatch.setitem(
        hook_app.extensions, "redis", connect(f"redis://127.0.0.1:{free_port()}", timeout=0.5)
    )
    log_in(client, student.email)
    with caplog.at_level(logging.ERROR, logger="practika.webhooks.services"):
        response = client.post(
            f"/comments/exercises/{exercise.id}", data={"text": "Hi"}, headers=HTMX
        )
    assert response.status_code == 200 and count_rows(VideoComment) == 1
    assert "not queued, Redis is unavailable" in caplog.text
    [delivery] = deliveries()
    assert delivery.status == "pending"

    monkeypatch.setitem(hook_app.extensions, "redis", redis)  # Redis is back
    assert webhook_delivery.sweep(older_than=0) == {"webhooks_enqueued": 1}
    assert webhook_delivery.sweep(older_than=0) == {"webhooks_enqueued": 0}  # queued once
    run_jobs()
    assert deliveries()[0].status == "succeeded" and len(receiver.requests) == 1


def test_emit_never_raises_when_the_event_cannot_be_recorded(app, teacher, caplog):
    add_endpoint("https://93.184.215.14/hook", ["video.ready"])
    with caplog.at_level(logging.ERROR, logger="practika.webhooks.services"):
        assert emit("video.ready", object()) == 0  # a subject it cannot describe
    assert "could not be recorded" in caplog.text and count_rows(WebhookDelivery) == 0


# ---- Each event where it happens ----------------------------------------------------------


def test_an_attempt_sent_on_the_page_records_attempt_submitted_once_it_plays(
    client, exercise, student
):
    add_endpoint("https://93.184.215.14/hook", ["attempt.submitted"])
    log_in(client, student.email)
    asset = store_upload(io.BytesIO(b"attempt bytes"), owner=student, filename="a.mp4")
    db.session.commit()
    asset_id = asset.id
    client.post(
        f"/comments/exercises/{exercise.id}/attempts",
        headers=HTMX,
        data={"video_asset_id": str(asset_id), "note": "Try 1"},
        content_type="multipart/form-data",
    )
    assert deliveries() == []  # not before its video plays (tests/test_attempt_announce.py)
    make_playable(asset_id)
    announce_attempts(asset_id)  # what the worker does when it does

    [delivery] = deliveries()
    attempt = db.session.scalar(sa.select(VideoComment))
    assert delivery.event == "attempt.submitted"
    assert json.loads(delivery.payload)["data"] == {
        "id": str(attempt.id),
        "exercise_id": str(exercise.id),
        "author": "sam",
        "video_id": str(asset_id),
        "created_at": json.loads(delivery.payload)["data"]["created_at"],
    }


def test_a_reply_records_comment_created_with_its_parent_and_time(client, exercise, teacher):
    add_endpoint("https://93.184.215.14/hook", ["comment.created"])
    log_in(client, teacher.email)
    client.post(f"/comments/exercises/{exercise.id}", data={"text": "Root"}, headers=HTMX)
    root = db.session.scalar(sa.select(VideoComment))
    client.post(
        f"/comments/{root.id}/replies", data={"text": "At 3 s", "at_seconds": "3"}, headers=HTMX
    )
    reply = deliveries()[1]
    data = json.loads(reply.payload)["data"]
    assert data["parent_id"] == str(root.id) and data["at_seconds"] == 3.0
    assert data["author"] == "tess"


def test_processing_records_video_ready_and_video_failed(app, teacher, small):
    add_endpoint("https://93.184.215.14/hook", ["video.ready", "video.failed"])
    good = store_upload(io.BytesIO(small.read_bytes()), owner=teacher, filename="good.mp4")
    bad = store_upload(io.BytesIO(b"<html>not a video</html>"), owner=teacher, filename="x.mp4")
    db.session.commit()
    good_id, bad_id = str(good.id), str(bad.id)

    process_video(good_id)
    process_video(bad_id)

    ready, failed = (json.loads(d.payload) for d in deliveries())
    assert ready["event"] == "video.ready" and ready["data"]["id"] == good_id
    assert ready["data"]["status"] == "ready" and ready["data"]["width"] == 320
    assert failed["event"] == "video.failed" and failed["data"]["id"] == bad_id
    assert failed["data"]["error"].startswith("This file is not a video we can read.")


def test_only_active_endpoints_subscribed_to_the_event_get_a_delivery(app, teacher):
    wanted, _ = add_endpoint("https://93.184.215.14/a", ["video.ready"])
    add_endpoint("https://93.184.215.14/b", ["comment.created"])
    off, _ = add_endpoint("https://93.184.215.14/c", ["video.ready"])
    db.session.get(WebhookEndpoint, off).is_active = False
    asset = VideoAsset(owner=teacher, processing_status="ready")
    db.session.add(asset)
    db.session.commit()
    assert emit("video.ready", asset) == 1
    assert [d.endpoint_id for d in deliveries()] == [wanted]


# ---- The address guard ----------------------------------------------------------------------

REFUSED = [
    ("http://127.0.0.1/hook", "public addresses"),
    ("http://10.1.2.3/hook", "public addresses"),
    ("http://172.16.0.1/", "public addresses"),
    ("http://192.168.1.1/", "public addresses"),
    ("http://169.254.169.254/latest/meta-data/", "public addresses"),
    ("http://100.64.0.1/", "public addresses"),
    ("http://0.0.0.0/", "public addresses"),
    ("http://224.0.0.1/", "public addresses"),
    ("http://240.0.0.1/", "public addresses"),
    ("http://2130706433/", "public addresses"),  # 127.0.0.1 written as one number
    ("http://[::1]/", "public addresses"),
    ("http://[::]/", "public addresses"),
    ("http://[::ffff:127.0.0.1]/", "public addresses"),
    ("http://[::ffff:10.0.0.1]/", "public addresses"),
    ("http://[fe80::1]/", "public addresses"),
    ("http://[fc00::1]/", "public addresses"),
    ("http://[ff02::1]/", "public addresses"),
    ("http://[2002:7f00:1::]/", "public addresses"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a00:1]/", "public addresses"),  # NAT64 around 10.0.0.1
    ("http://localhost:8080/", "public addresses"),  # a name that resolves to loopback
    ("ftp://93.184.215.14/", "Only http:// and https://"),
    ("file:///etc/passwd", "Only http:// and https://"),
    ("javascript:alert(1)", "Only http:// and https://"),
    ("http://user:pass@93.184.215.14/", "Leave user names and passwords out"),
    ("http://token@93.184.215.14/", "Leave user names and passwords out"),
    ("http://93.184.215.14:99999/", "port"),
    ("http:///hook", "needs a host name"),
    ("http://93.184.215.14/a b", "spaces"),
    ("http://no-such-host.invalid/", "could not be resolved"),
    ("", "Enter the URL"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED, ids=[url or "empty" for url, _ in REFUSED])
def test_the_guard_refuses(url, reason):
    with pytest.raises(WebhookError, match=reason):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["https://93.184.215.14/hook?x=1", "http://[2606:4700:4700::1111]:8443/", "HTTPS://8.8.8.8"],
)
def test_the_guard_lets_public_addresses_through(url):
    check_url(url, allow_private=False)


def test_allowing_private_addresses_still_refuses_other_schemes_and_credentials():
    check_url("http://127.0.0.1:9/", allow_private=True)
    check_url("http://localhost/", allow_private=True)
    for url in ("ftp://127.0.0.1/", "http://a:b@127.0.0.1/"):
        with pytest.raises(WebhookError):
            check_url(url, allow_private=True)


def test_mapped_ipv6_is_judged_by_its_ipv4_address():
    assert is_public_address("::ffff:8.8.8.8") and not is_public_address("::ffff:192.168.0.1")
    assert is_public_address("2606:4700::1111") and not is_public_address("fe80::1%eth0")


# ---- The staff page -------------------------------------------------------------------------


def test_staff_register_an_endpoint_and_see_its_secret_once(client, staff_user):
    log_in(client, staff_user.email)
    page = client.get("/webhooks/").get_data(as_text=True)
    assert "No endpoints yet" in page and "Nothing sent yet" in page

    response = client.post(
        "/webhooks/",
        headers=HTMX,
        data={
            "url": "https://93.184.215.14/hook",
            "description": "LMS",
            "events": ["video.ready", "comment.created"],
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert html.lstrip().startswith('<section id="webhook-endpoints"') and "<html" not in html
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in html
    assert endpoint.events == ["video.ready", "comment.created"]
    assert endpoint.created_by_id == staff_user.id and endpoint.is_active
    page = client.get("/webhooks/").get_data(as_text=True)
    assert "https://93.184.215.14/hook" in page and endpoint.secret not in page


def test_a_refused_endpoint_says_why_and_keeps_what_was_typed(client, staff_user):
    log_in(client, staff_user.email)
    fragment = client.post(
        "/webhooks/",
        headers=HTMX,
        data={"url": "http://169.254.169.254/", "events": ["video.ready"]},
    )
    assert fragment.status_code == 422
    html = fragment.get_data(as_text=True)
    assert "only go to public addresses" in html and 'value="http://169.254.169.254/"' in html
    page = client.post("/webhooks/", data={"url": "https://93.184.215.14/", "events": []})
    assert page.status_code == 422 and "Choose at least one event" in page.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)  # without htmx, the whole page
    assert count_rows(WebhookEndpoint) == 0


def test_staff_switch_off_renew_the_secret_and_delete(client, staff_user):
    endpoint_id, secret = add_endpoint("https://93.184.215.14/hook")
    log_in(client, staff_user.email)

    off = client.post(f"/webhooks/{endpoint_id}/toggle", headers=HTMX).get_data(as_text=True)
    assert "is off." in off and "Switch on" in off
    assert db.session.get(WebhookEndpoint, endpoint_id).is_active is False
    renewed = client.post(f"/webhooks/{endpoint_id}/secret", headers=HTMX).get_data(as_text=True)
    db.session.expire_all()
    new = db.session.get(WebhookEndpoint, endpoint_id).secret
    assert new != secret and new in renewed
    plain = client.post(f"/webhooks/{endpoint_id}/toggle")
    assert plain.status_code == 303 and plain.location.endswith("/webhooks/")

    deleted = client.post(f"/webhooks/{endpoint_id}/delete", headers=HTMX).get_data(as_text=True)
    assert "is deleted" in deleted
    assert '<section id="webhook-deliveries"' in deleted and 'hx-swap-oob="true"' in deleted
    assert count_rows(WebhookEndpoint) == 0


def test_the_deliveries_fragment_and_page(client, staff_user):
    log_in(client, staff_user.email)
    fragment = client.get("/webhooks/deliveries", headers=HTMX)
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="webhook-deliveries"')
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.get("/webhooks/deliveries")
    assert page.status_code == 303 and page.location.endswith("/webhooks/#deliveries")
    assert "webhooks/" in client.get("/accounts/invitations").get_data(as_text=True)


def test_only_staff_see_webhooks(client, teacher, student):
    endpoint_id, _ = add_endpoint("https://93.184.215.14/hook")
    delivery = WebhookDelivery(endpoint_id=endpoint_id, event="video.ready", payload="{}")
    db.session.add(delivery)
    db.session.commit()
    for user in (teacher, student):
        log_in(client, user.email)
        for url in ("/webhooks/", "/webhooks/deliveries"):
            assert client.get(url).status_code == 404
        for url in (
            "/webhooks/",
            f"/webhooks/{endpoint_id}/toggle",
            f"/webhooks/{endpoint_id}/secret",
            f"/webhooks/{endpoint_id}/delete",
            f"/webhooks/deliveries/{delivery.id}/redeliver",
        ):
            assert client.post(url, data={"url": "https://93.184.215.14/"}).status_code == 404
        client.post("/accounts/logout")
    assert db.session.get(WebhookEndpoint, endpoint_id).is_active  # untouched
