"""With S3 storage the pages send a video straight to the bucket (direct.js): Chromium PUTs
its parts to an S3 endpoint over HTTP (moto's server, with the bucket's CORS rule as
terraform/ sets it) and none of its bytes to the app. A tab closed halfway goes on from the
parts the bucket has when the same file is chosen again, a part whose connection drops is
sent again, and the video becomes ready in the worker and plays from the bucket under the
page's Content-Security-Policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from practika.media.synth import synth_video
from tests.e2e.bucket import open_videos, send_resume_and_play
from tests.e2e.conftest import BUCKET, BUCKET_TEACHER, VIEWPORTS, watched_page
from tests.media_samples import padded

EMAIL, PASSWORD = BUCKET_TEACHER


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
