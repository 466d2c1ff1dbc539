"""With S3 storage a take goes straight to the bucket as it is recorded (takes-bucket.js):
Chromium PUTs each piece to an S3 endpoint over HTTP (moto's server, with the bucket's CORS
rule as terraform/ sets it) while the fake camera records, and no byte of it to the app. The
worker joins the pieces and the take becomes ready; a tab closed mid-upload goes on from
the pieces the bucket has. At phone size, as tests/e2e/test_takes.py does for tus."""

from __future__ import annotations

import re
import sqlite3
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.conftest import BUCKET, PROCESSED, VIEWPORTS, watched_page
from tests.e2e.test_takes import COUNT_TAKES, attempts, no_takes_left, slow_uplink, unsent
from tests.e2e.test_upload import recording
from tests.services import wait_for

PHONE = {"viewport": VIEWPORTS["phone"], "is_mobile": True, "has_touch": True}


def piece(request: Request, endpoint: str) -> int | None:
    """The number of the take's piece a request PUTs to the bucket; None for any other."""
    url = urlsplit(request.url)
    signed = "X-Amz-Signature" in parse_qs(url.query)
    if request.method != "PUT" or not request.url.startswith(f"{endpoint}/{BUCKET}/"):
        return None
    return int(url.path.rsplit("/", 1)[1]) if "/pieces/" in url.path and signed else None


def sent_to_app(request: Request, site: str) -> bool:
    """A request that carries a body of video to the app (tus PATCH, or any PUT)."""
    return request.url.startswith(site) and request.method in ("PATCH", "PUT")


def latest_attempt_status(env: dict[str, str]) -> str:
    path = urlsplit(env["DATABASE_URL"].replace("sqlite:///", "file:///")).path
    with sqlite3.connect(path) as connection:
        (status,) = connection.execute(
            "SELECT v.processing_status FROM video_comments c JOIN video_assets v"
            " ON v.id = c.video_asset_id WHERE c.kind = 'attempt'"
            " ORDER BY c.created_at DESC LIMIT 1"
        ).fetchone()
    return status


def test_a_take_goes_to_the_bucket_while_it_is_recorded_and_becomes_ready(
    browser: Browser, bucket_site: str, bucket_env, s3_endpoint: str
) -> None:
    before = attempts(bucket_env)
    with watched_page(browser, bucket_site, **PHONE) as page:
        pieces: list[int] = []
        to_app: list[str] = []
        page.on("request", lambda r: (n := piece(r, s3_endpoint)) and pieces.append(n))
        page.on("request", lambda r: sent_to_app(r, bucket_site) and to_app.append(r.url))
        form = recording(page, 3)
        assert pieces, "pieces go to the bucket while recording goes on"
        form.get_by_role("button", name="Stop").click()
        expect(form.locator("[data-recorder-message]")).to_contain_text("It is uploaded")
        assert page.evaluate(COUNT_TAKES) == 1  # kept on the phone until the attempt exists
        assert pieces == list(range(1, len(pieces) + 1))  # in order, each once

        form.get_by_role("button", name="Send attempt").click()
        expect(page).to_have_url(re.compile(r"/comments/attempts/"))
        assert attempts(bucket_env) == before + 1
        no_takes_left(page)
        assert to_app == [], "no byte of the take went through the app"
    wait_for(lambda: latest_attempt_status(bucket_env) in ("ready", "failed"), PROCESSED / 1000)
    assert latest_attempt_status(bucket_env) == "ready"


def test_a_tab_closed_mid_upload_goes_on_from_the_pieces_the_bucket_has(
    browser: Browser, bucket_site: str, bucket_env, s3_endpoint: str
) -> None:
    before = attempts(bucket_env)
    with watched_page(browser, bucket_site, **PHONE) as page:
        context = page.context
        slow_uplink(context, page, 40_000)
        first: list[int] = []
        page.on("request", lambda r: (n := piece(r, s3_endpoint)) and first.append(n))
        form = recording(page, 4)
        form.get_by_role("button", name="Stop").click()
        message = form.locator("[data-recorder-message]")
        expect(message).to_contain_text("Uploading the last seconds")
        page.close()  # the tab goes while the tail is still going up

        again: Page = context.new_page()
        later: list[int] = []
        again.on("request", lambda r: (n := piece(r, s3_endpoint)) and later.append(n))
        again.goto("/exercises/")
        take = unsent(again)
        expect(take).to_have_count(1)
        take.get_by_role("button", name="Send it").click()
        expect(again).to_have_url(re.compile(r"/comments/attempts/"))
        assert first, "pieces went up before the tab was closed"
        # On a loaded machine the tail may have got up before the tab went: then nothing is
        # left to send. What must never happen is sending it again from the first piece.
        assert 1 not in later, f"it went on from the first piece, not the bucket's: {later}"
        assert attempts(bucket_env) == before + 1
