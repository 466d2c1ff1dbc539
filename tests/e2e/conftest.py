"""End-to-end fixtures: one Chromium for the session, the app served for real on a local port.

The live server runs the real app (migrations, demo data, local media, real Redis) in a
background thread, so the browser talks HTTP to it exactly as it would in production. The
bucket site is the same app with its media in an S3 bucket (moto's server over HTTP).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import flask_migrate
import pytest
import urllib3
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright
from werkzeug.serving import make_server

from practika import create_app
from practika.accounts.services.invitations import invite
from practika.accounts.services.users import create_user
from practika.config import BASE_DIR, TestConfig
from practika.extensions import db
from practika.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.conftest import seed_demo_processed
from tests.services import RedisServer, free_port

HERE = Path(__file__).resolve().parent
ARTIFACTS = BASE_DIR / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # developers' and CI machines run as root
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: these machines have no internet
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A camera and microphone that need no person: a generated picture and tone, granted
    # without a prompt, so MediaRecorder can be tested for real.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
ASSET_TYPES = {"stylesheet", "script", "image", "font", "media"}
# Every wait is on a condition (a selector, a response, a state), so these are ceilings that a
# quiet machine never reaches; they are generous because `make test` must pass on a loaded
# two-core machine, where a page that takes 0.3 s alone can take several seconds.
PATIENCE = 30_000  # ms: a page, a fragment, the answer to a click
PROCESSED = 120_000  # ms: the worker makes a short video playable (seconds when idle)
expect.set_options(timeout=PATIENCE)  # expect() has its own default (5 s), not the context's
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 360, "height": 740},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e drives a browser: mark it so `-m "not e2e"` skips it."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@contextmanager
def chromium() -> Iterator[Browser]:
    """Chromium as the tests drive it (the stack test's too), while the block runs."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Where the live server keeps its data, shared with its worker process. Its Redis is
    its own, so its worker never takes jobs that other tests queued."""
    tmp = tmp_path_factory.mktemp("e2e")
    redis = RedisServer().start()
    yield {
        # Links in mail are built on BASE_URL, never on the request's host: the live
        # server's own address, so the test can follow them.
        "BASE_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_URL": f"sqlite:///{tmp}/e2e.db",
        "REDIS_URL": redis.url,
        "INSTANCE_PATH": str(tmp / "instance"),
        "STORAGE_URL": str(tmp / "instance" / "media"),
        "BETA_INVITE_ONLY": "true",  # as in production: sign-up by invitation
        # Every test logs in and asks for mail from one address; the limits have their own
        # tests.
        "LOGIN_RATE_LIMIT": "200 per minute",
        "MAIL_RATE_LIMIT": "200 per hour",
    }
    redis.stop()


@pytest.fixture(scope="session")
def live_server(live_env) -> Iterator[str]:
    """The app with its demo data, served on 127.0.0.1; yields the base URL."""
    config = TestConfig(live_env)
    config.WTF_CSRF_ENABLED = True  # the browser sends real tokens, as in production
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade()
        seed_demo_processed()
        db.session.remove()
    with serving(app, live_env["BASE_URL"]):
        yield live_env["BASE_URL"]


BUCKET = "practika-direct-e2e"
BUCKET_TEACHER = ("bucket-teacher@example.com", "a bucket teacher's password")
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def bucket_env(tmp_path_factory) -> dict[str, str]:
    """Where the bucket site keeps its database and instance, shared with its worker."""
    tmp = tmp_path_factory.mktemp("bucket-site")
    return {
        "BASE_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_URL": f"sqlite:///{tmp}/bucket.db",
        "INSTANCE_PATH": str(tmp / "instance"),
        "STORAGE_URL": f"s3://{BUCKET}/media",
    }


@pytest.fixture(scope="module")
def bucket_site(s3_endpoint, bucket_env) -> Iterator[str]:
    """The app with its media in a bucket, its demo data, a teacher of its own, its own
    Redis and a worker; yields its URL."""
    base_url = bucket_env["BASE_URL"]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        bucket = boto3.client("s3", endpoint_url=s3_endpoint)
        bucket.create_bucket(Bucket=BUCKET)
        allow_the_site(bucket, BUCKET, base_url)
        redis = RedisServer().start()
        env = CREDENTIALS | bucket_env | {"REDIS_URL": redis.url, "S3_ENDPOINT_URL": s3_endpoint}
        config = TestConfig(env)
        config.WTF_CSRF_ENABLED = True
        app = create_app(config)
        with app.app_context():
            flask_migrate.upgrade()
            seed_demo_processed()
            email, password = BUCKET_TEACHER
            create_user(email=email, username="bucket-teacher", password=password, role="teacher")
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


def allow_the_site(client, bucket: str, origin: str) -> None:
    """terraform/storage.tf's CORS rule on ``bucket`` (``client`` is boto3's): the site's
    origin only may PUT parts to it."""
    rule = {
        "AllowedOrigins": [origin],
        "AllowedMethods": ["PUT"],  # playing and showing media needs no CORS
        "AllowedHeaders": ["Content-Type"],
        "ExposeHeaders": ["ETag"],
    }
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})


@contextmanager
def serving(app, base_url: str) -> Iterator[None]:
    """``app`` served on ``base_url``'s port in a background thread, while the block runs."""
    server = make_server("127.0.0.1", urlsplit(base_url).port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


HOOK_URL = "https://hooks.example.com/practika"


@pytest.fixture(scope="session")
def staff_things(live_server: str, live_env: dict[str, str]) -> None:
    """An invitation, and an endpoint with a failed delivery, so the staff pages show their
    tables. The endpoint is made in the database: registering one looks its address up, and
    these machines have no DNS. It is inactive: an active one would get a delivery for every
    video the later tests make ready, and the worker would spend its time failing to look
    its host up while their videos wait."""
    app = create_app(TestConfig(live_env))
    with app.test_request_context():
        invite("guest@example.com", invited_by=None)
        endpoint = WebhookEndpoint(
            url=HOOK_URL, events=["video.ready"], secret="whsec_test", is_active=False
        )
        delivery = WebhookDelivery(
            endpoint=endpoint,
            event="video.ready",
            payload="{}",
            status=DeliveryStatus.FAILED,
            attempts=1,
        )
        delivery.history.append(WebhookAttempt(number=1, response_status=500, duration_ms=12))
        db.session.add_all([endpoint, delivery])
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="session")
def live_worker(live_server, live_env) -> Iterator[subprocess.Popen]:
    """A real RQ worker (``python worker.py``) processing the live server's uploads."""
    with working(live_env) as process:
        yield process


@contextmanager
def working(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """``python worker.py`` with ``env``, while the block runs."""
    process = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=BASE_DIR,
        env={**os.environ, **env, "PRACTIKA_ENV": "development"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def size(request) -> str:
    """The screen size a test runs at: a desktop and a phone."""
    return request.param


@pytest.fixture
def page(browser: Browser, live_server: str, size: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) at the test's screen size, on the live server."""
    phone = size == "phone"
    with watched_page(
        browser, live_server, viewport=VIEWPORTS[size], is_mobile=phone, has_touch=phone
    ) as page:
        yield page


@contextmanager
def watched_page(browser: Browser, base_url: str, **options) -> Iterator[Page]:
    """A page in a fresh context (``options`` as for ``new_context``) on the live server; the
    test fails if the browser reports an error while it is open. A CSP violation, a script
    error or a missing asset is a bug a user would hit, even when the page looks fine."""
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(PATIENCE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: console_error(message, errors))
    page.on("response", lambda response: broken_asset(response, errors))
    yield page
    context.close()
    assert not errors, f"the browser reported errors: {errors}"


def console_error(message: ConsoleMessage, errors: list[str]) -> None:
    # Chromium also logs every 4xx answer; pages and forms answer those on purpose (a 404
    # page, a 422 form), and broken_asset catches the ones that are bugs.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


def broken_asset(response: Response, errors: list[str]) -> None:
    if response.status >= 400 and response.request.resource_type in ASSET_TYPES:
        errors.append(f"{response.status} {response.url}")


@pytest.fixture
def shoot(page: Page, size: str):
    """Save a full-page screenshot as test-artifacts/<size>-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(name: str) -> None:
        page.screenshot(path=ARTIFACTS / f"{size}-{name}.png", full_page=True)

    return shoot
