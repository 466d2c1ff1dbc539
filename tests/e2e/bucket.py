"""A video sent from the pages straight to the bucket, in Chromium: the bucket's CORS rule and
the steps that the e2e test (tests/e2e/test_direct_upload.py, the app in a thread) and the
stack test (tests/stack/test_scale_out.py, two gunicorns behind nginx) both take."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import PROCESSED
from tests.e2e.test_smoke import log_in, open_menu


def part(number: int, bucket_url: str) -> re.Pattern[str]:
    """Matches the PUT of one part to the bucket at ``bucket_url`` (endpoint/bucket)."""
    return re.compile(rf"^{re.escape(bucket_url)}/.*[?&]partNumber={number}(&|$)")


def open_videos(page: Page, login: str, password: str) -> None:
    page.goto("/accounts/login")
    log_in(page, login, password)
    open_menu(page)
    page.get_by_role("link", name="Videos").click()
    listening(page)


def listening(page: Page) -> None:
    """The Videos page, loaded: its upload script listens from now on."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Your videos")
    page.wait_for_load_state()


def choose_and_send(page: Page, video: Path) -> None:
    page.get_by_label("Video file").set_input_files(video)
    page.get_by_role("button", name="Upload").click()


def send_resume_and_play(page: Page, site: str, bucket_url: str, video: Path) -> None:
    """On the open Videos page, send ``video`` (two parts) straight to the bucket: the bucket
    refuses part 2 and the upload stops with part 1 in it; the page is opened again and the
    same file chosen, so only part 2 goes, and its first try is dropped on the way. No byte
    of the video goes to ``site``; the video becomes ready and plays from the bucket (whose
    media are under ``media/``, as both tests set STORAGE_URL)."""
    # The bucket refuses part 2, and the upload stops with part 1 in the bucket.
    page.route(part(2, bucket_url), lambda route: route.fulfill(status=400))
    with page.expect_response(part(1, bucket_url)) as first:
        choose_and_send(page, video)
    assert first.value.status == 200
    expect(page.locator(".upload-message")).to_have_text("The storage refused a part (400).")
    page.unroute(part(2, bucket_url))

    # The page is opened again and the same file chosen: the bucket has part 1, so only
    # part 2 goes, and its first try is dropped on the way.
    puts: list[str] = []
    site_bodies: list[str] = []
    page.on("request", lambda r: r.method == "PUT" and puts.append(r.url))
    page.on(
        "request",
        lambda r: (
            r.url.startswith(site) and r.method in ("PATCH", "PUT") and site_bodies.append(r.url)
        ),
    )
    fetched: list[str] = []  # what the page read from the bucket (after a redirect)
    page.on("requestfinished", lambda r: r.method == "GET" and fetched.append(r.url))
    dropped: list[str] = []

    def drop_once(route: Route) -> None:
        if dropped:
            return route.continue_()
        dropped.append(route.request.url)
        route.abort("connectionreset")

    page.route(part(2, bucket_url), drop_once)
    page.reload()
    listening(page)
    choose_and_send(page, video)
    item = page.get_by_role("article").filter(has_text=video.name)
    expect(item).to_be_visible()
    assert len(dropped) == 1
    assert len(puts) == 2 and all(part(2, bucket_url).match(url) for url in puts)
    assert site_bodies == []  # no byte of the video went through the site

    player = item.locator("video")
    expect(player).to_be_visible(timeout=PROCESSED)
    player.evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("video => video.currentTime > 0.2", arg=player.element_handle())
    assert any(url.startswith(f"{bucket_url}/media/videos/") for url in fetched)
