"""A take whose video cannot be played: its student is told why and replaces it, on a phone,
and the teacher hears of the attempt only once a video plays."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from practika.demo import DEMO_EXERCISE
from practika.media.synth import synth_video
from tests.e2e.conftest import PROCESSED
from tests.e2e.test_smoke import STUDENT, log_in

pytestmark = pytest.mark.parametrize("size", ["phone"])


def test_a_take_that_cannot_play_is_replaced_by_its_student(
    page: Page, shoot, live_worker, tmp_path
) -> None:
    broken = tmp_path / "broken take.mp4"  # starts like an MP4, so only the pipeline can tell
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12 + b"not a video" * 2000)
    page.goto("/accounts/login")
    log_in(page, STUDENT.email, STUDENT.password)
    page.get_by_role("link", name=DEMO_EXERCISE).first.click()
    form = page.locator("#attempt-form")
    form.get_by_label("Or choose a video").set_input_files(broken)
    form.get_by_role("button", name="Send attempt").click()
    expect(page).to_have_url(re.compile(r"/comments/attempts/"))

    replace = page.locator(".replace-video")
    expect(replace.get_by_role("heading", name="Replace the video")).to_be_visible(
        timeout=PROCESSED
    )
    expect(replace).to_contain_text("Your teacher has not been told")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    expect(page.get_by_role("button", name="Play both together")).to_have_count(0)
    expect(page.get_by_label("Attempt playback")).to_be_hidden()  # nothing to play
    shoot("replace-video")

    good = synth_video(tmp_path / "second take.mp4", seconds=2, width=640, height=360)
    replace.get_by_label("Or choose a video").set_input_files(good)
    replace.get_by_role("button", name="Replace the video").click()
    expect(page.get_by_text("New video sent.")).to_be_visible()
    expect(page.locator(".replace-video")).to_have_count(0)
    take = page.locator(".compare-side").first.locator(".stage video")
    expect(take).to_be_visible(timeout=PROCESSED)
