"""With S3 storage the pages send a video straight to the bucket (direct.js): Chromium PUTs
its parts to an S3 endpoint over HTTP (moto's server, with the bucket's CORS rule as
terraform/ sets it) and none of its bytes to the app. A tab closed halfway goes on from the
parts the bucket has when the same file is chosen again, a part whose connection drops is
sent again, and the video becomes ready in the worker and plays from the bucket under the
page's Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import flask_migrate
import pytest
import urllib3
from playwright.sync_api import Browser

from practika import create_app
from practika.accounts.services.users import create_user
from practika.config import TestConfig
from practika.extensions import db
from practika.media.synth import synth_video
from tests.e2e.bucket import allow_the_site, open_videos, send_resume_and_play
from tests.e2e.conftest import VIEWPORTS, serving, watched_page, working
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
        allow_the_site(bucket, BUCKET, base_url)
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


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_video_goes_straight_to_the_bucket_resumes_and_plays_from_it(
    browser: Browser, bucket_site: str, s3_endpoint: str, tmp_path, size: str
) -> None:
    video = padded(synth_video(tmp_path / f"scales on {size}.mp4", seconds=3), 10)  # 2 parts
    phone = size == "phone"
    options = {"viewport": VIEWPORTS[size], "is_mobile": phone, "has_touch": phone}
    with watched_page(browser, bucket_site, **options) as page:
        open_videos(page, EMAIL, PASSWORD)
        send_resume_and_play(page, bucket_site, f"{s3_endpoint}/{BUCKET}", video)
