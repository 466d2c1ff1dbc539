"""The production shape of Practika, through nginx only (tests/stack/conftest.py starts it):
health, logging in, a tus upload, processing into S3, playback with HTTP Range through the
presigned URL, static files and gzip; then a worker killed in the middle of a job, and a new
one that still brings the video to ready."""

from __future__ import annotations

import sys

import requests

from practika.media.synth import synth_video
from tests.services import wait_for
from tests.stack.conftest import BUCKET, PASSWORD, STACK_MARKS, Browser, wait_until_ready
from tests.stack.slow_clients import SlowClients, answers

pytestmark = STACK_MARKS


def test_health_answers_through_nginx(stack):
    response = requests.get(stack.base + "/core/health/", timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert "Server" not in response.headers or "nginx/" not in response.headers["Server"]


def test_slow_anonymous_clients_hold_neither_pages_nor_health(stack):
    """50 POST bodies sent a byte every 2 s, to the login page and the upload endpoint: nginx
    holds them, gunicorn's threads stay free (before, about 40 held them all)."""
    port = int(stack.base.rpartition(":")[2])
    with SlowClients(port, count=50) as slow:
        for _ in range(3):  # generous timeouts: that it answers, not how fast (bench/ does)
            assert answers(stack.base + "/core/health/") == 200
            assert answers(stack.base + "/accounts/login") == 200
        assert slow.still_open == 50


def test_live_answers_through_nginx(stack):
    response = requests.get(stack.base + "/core/live", timeout=5)
    assert response.status_code == 200 and response.text == "ok"


def test_static_files_come_from_nginx_with_caching_and_gzip(stack):
    vendor = requests.get(
        stack.base + "/static/vendor/htmx-2.0.11.min.js",
        timeout=5,
        headers={"Accept-Encoding": "gzip"},
    )
    assert vendor.status_code == 200
    assert "immutable" in vendor.headers["Cache-Control"]
    assert vendor.headers.get("Content-Encoding") == "gzip"


def test_a_teacher_uploads_and_the_video_plays_from_s3_with_range(stack, tmp_path):
    browser = Browser(stack.base)
    browser.log_in("teacher@stack.test", PASSWORD)
    video = synth_video(tmp_path / "model.mp4", seconds=3, width=640, height=360)
    asset_id = browser.upload(video)
    wait_until_ready(stack, asset_id, timeout=120)
    status = browser.request("GET", f"/core/videos/{asset_id}/status").text
    assert f"/core/media/{asset_id}/video" in status
    redirect = browser.request("GET", f"/core/media/{asset_id}/video")
    assert redirect.status_code == 302
    presigned = redirect.headers["Location"]
    assert presigned.startswith(f"{stack.env['S3_ENDPOINT_URL']}/{BUCKET}/media/videos/")
    piece = requests.get(presigned, headers={"Range": "bytes=0-99"}, timeout=10)
    assert piece.status_code == 206 and len(piece.content) == 100
    assert piece.headers["Content-Range"].startswith("bytes 0-99/")


def test_a_worker_killed_mid_job_is_replaced_and_the_video_still_gets_ready(stack, tmp_path):
    browser = Browser(stack.base)
    browser.log_in("teacher@stack.test", PASSWORD)
    video = synth_video(tmp_path / "long.mp4", seconds=20, width=1280, height=720)
    asset_id = browser.upload(video)

    def processing() -> bool:
        return (
            stack.sql("SELECT processing_status FROM video_assets WHERE id = %s", asset_id)[0]
            == "processing"
        )

    wait_for(processing, timeout=60, what="the job to start")
    stack.kill("worker")
    assert (
        stack.sql("SELECT processing_status FROM video_assets WHERE id = %s", asset_id)[0]
        != "ready"
    )
    stack.start("worker", sys.executable, "worker.py")
    # The sweep finds the row stalled once VIDEO_JOB_TIMEOUT + 60 s have passed, requeues it,
    # and the new worker processes it from the start.
    wait_until_ready(stack, asset_id, timeout=240)
    attempts = stack.sql("SELECT attempts FROM video_assets WHERE id = %s", asset_id)[0]
    assert attempts >= 2
