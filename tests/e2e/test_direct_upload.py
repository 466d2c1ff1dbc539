"""With S3 storage the pages send a video straight to the bucket (direct.js): Chromium PUTs
its parts to an S3 endpoint over HTTP (moto's server, with the bucket's CORS rule as
terraform/ sets it) and none of its bytes to the app. A tab closed halfway goes on from the
parts the bucket has when the same file is chosen again, a part whose connection drops is
sent again, and the video becomes ready in the worker and plays from the bucket under the
page's Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import boto3
import flask_migrate
import pytest
import urllib3
from playwright.sync_api import Browser, Page, Route, expect

from practika import create_app
from practika.accounts.services.users import create_user
from practika.config import TestConfig
from practika.extensions import db
from practika.media.synth import synth_video
from tests.e2e.conftest import PROCESSED, VIEWPORTS, serving, watched_page, working
from tests.e2e.test_smoke import log_in, open_menu
from tests.media_samples import padded
from tests.services import RedisServer, free_port

BUCKET = "practika-direct-e2e"
EMAIL, PASSWORD = "bucket-teacher@example.com", "a bucket teacher's password"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def bucket_site(s3_endpoint, tmp_path_factory) -> Iterator[str]:
    """The app with its media in a bucket, its own Redis and a worker; yields its URL."""
    tmp = tmp_path_factory.mktemp("bucket-site")
    base_url = f"http://127.0.0.1:{free_port()}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        bucket = boto3.client("s3", endpoint_url=s3_endpoint)
        bucket.create_bucket(Bucket=BUCKET)
        cors = {  # terraform/storage.tf's rule: the site's origin only
            "AllowedOrigins": [base_url],
            "AllowedMethods": ["PUT"],  # playing and showing media needs no CORS
            "AllowedHeaders": ["Content-Type"],
            "ExposeHeaders": ["ETag"],
        }
        bucket.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [cors]})
        redis = RedisServer().start()
        env = CREDENTIALS | {
            "BASE_URL": base_url,
            "DATABASE_URL": f"sqlite:///{tmp}/bucket.db",
            "REDIS_URL": redis.url,
            "INSTANCE_PATH": str(tmp / "instance"),
            "STORAGE_URL": f"s3://{BUCKET}/media",
            "S3_ENDPOINT_URL": s3_endpoint,
        }
        config = TestConfig(env)
        config.WTF_CSRF_ENABLED = True
        app = create_app(config)
        with app.app_context():
            flask_migrate.upgrade()
            create_user(email=EMAIL, username="bucket-teacher", password=PASSWORD, role="teacher")
            db.session.commit()
            db.session.remove()
        try:
            with serving(app, base_url), working(env):
                yield base_url
        finally:
            redis.stop()
            # Moto forgets everything: its state dump, which the SES tests read from the
            # same server, fails once multipart uploads were made (tests/test_direct_uploads).
            urllib3.request("POST", f"{s3_endpoint}/moto-api/reset", timeout=10)


def part(number: int, endpoint: str):
    """Matches the PUT of one part to the bucket."""
    return re.compile(rf"^{re.escape(endpoint)}/{BUCKET}/.*[?&]partNumber={number}(&|$)")


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_video_goes_straight_to_the_bucket_resumes_and_plays_from_it(
    browser: Browser, bucket_site: str, s3_endpoint: str, tmp_path, size: str
) -> None:
    video = padded(synth_video(tmp_path / f"scales on {size}.mp4", seconds=3), 10)  # 2 parts
    phone = size == "phone"
    options = {"viewport": VIEWPORTS[size], "is_mobile": phone, "has_touch": phone}
    with watched_page(browser, bucket_site, **options) as page:
        open_videos(page)
        # The bucket refuses part 2, and the upload stops with part 1 in the bucket.
        page.route(part(2, s3_endpoint), lambda route: route.fulfill(status=400))
        with page.expect_response(part(1, s3_endpoint)) as first:
            choose_and_send(page, video)
        assert first.value.status == 200
        expect(page.locator(".upload-message")).to_have_text("The storage refused a part (400).")
        page.unroute(part(2, s3_endpoint))

        # The page is opened again and the same file chosen: the bucket has part 1, so only
        # part 2 goes, and its first try is dropped on the way.
        puts: list[str] = []
        app_bodies: list[str] = []
        page.on("request", lambda r: r.method == "PUT" and puts.append(r.url))
        page.on(
            "request",
            lambda r: (
                r.url.startswith(bucket_site)
                and r.method in ("PATCH", "PUT")
                and app_bodies.append(r.url)
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

        page.route(part(2, s3_endpoint), drop_once)
        page.reload()
        listening(page)
        choose_and_send(page, video)
        item = page.get_by_role("article").filter(has_text=video.name)
        expect(item).to_be_visible()
        assert len(dropped) == 1
        assert len(puts) == 2 and all(part(2, s3_endpoint).match(url) for url in puts)
        assert app_bodies == []  # no byte of the video went through the app

        player = item.locator("video")
        expect(player).to_be_visible(timeout=PROCESSED)
        player.evaluate("video => { video.muted = true; return video.play(); }")
        page.wait_for_function("video => video.currentTime > 0.2", arg=player.element_handle())
        assert any(url.startswith(f"{s3_endpoint}/{BUCKET}/media/videos/") for url in fetched)


def open_videos(page: Page) -> None:
    page.goto("/accounts/login")
    log_in(page, EMAIL, PASSWORD)
    open_menu(page)
    page.get_by_role("link", name="Videos").click()
    listening(page)


def listening(page: Page) -> None:
    """The Videos page, loaded: its upload script listens from now on."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Your videos")
    page.wait_for_load_state()


def choose_and_send(page: Page, video) -> None:
    page.get_by_label("Video file").set_input_files(video)
    page.get_by_role("button", name="Upload").click()
