"""A voice comment in Chromium, at desktop and phone size, against the live server and a real
worker: the teacher, on a student's attempt, records 2 s with the (fake) microphone, listens
back, sends it as feedback at a moment; the worker makes it an .m4a; the student plays it.

The attempt is a student's of their own in the demo class (so the demo student's pages stay
as other tests expect), made by the real pipeline in this process."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PROCESSED, watched_page
from tests.e2e.students import pause_take_at, student_with_take
from tests.e2e.test_smoke import TEACHER, log_in

STUDENT = ("listener@example.com", "listener", "feedback heard at a moment")
# Resolves once the player plays and its time moves past 0.5 s.
PLAYS = """audio => new Promise(resolve => {
  const check = () => audio.currentTime > 0.5 && resolve(audio.currentTime);
  audio.addEventListener("timeupdate", check);
  audio.muted = true;  // no sound card here; muted playback needs no gesture either
  audio.play();
})"""


@pytest.fixture(scope="module")
def attempt_id(live_server, live_env) -> str:
    """An attempt of a student of the demo class at the demo exercise, already playable."""
    return student_with_take(live_env, STUDENT)[0]


def test_a_voice_comment_is_recorded_processed_and_played(
    page: Page, browser, live_server, live_worker, attempt_id, size, shoot
) -> None:
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page).to_have_url(re.compile("/exercises/"))
    page.goto(f"/comments/attempts/{attempt_id}")
    form = page.locator(f"#comment-form-{attempt_id}")
    pause_take_at(page, 1.5)
    form.get_by_label("Feedback").focus()  # the composer stamps the take's moment
    expect(form.locator("[data-stamp-words]")).to_have_text("At 0:01.5")
    voice = form.locator("[data-voice]")
    expect(voice.get_by_label("Record voice")).to_be_hidden()  # the recorder, not the file
    voice.get_by_role("button", name="Record voice").click()
    expect(voice.locator("[data-voice-clock]")).to_have_text("0:02", timeout=PROCESSED)
    voice.get_by_role("button", name="Stop").click()
    preview = voice.locator("audio")
    expect(preview).to_be_visible()
    expect(voice.get_by_role("button", name="Re-record")).to_be_visible()
    expect(voice).to_contain_text("Recorded 0:02")
    shoot("voice-recorded")

    form.get_by_role("button", name="Send feedback").click()
    comment = page.locator("article.comment").filter(has=page.locator(".voice-status")).last
    expect(comment.locator(".timestamp")).to_contain_text("0:01.5")
    expect(comment.locator("audio.voice-player")).to_be_visible(timeout=PROCESSED)
    shoot("voice-sent")

    email, _, password = STUDENT
    with watched_page(browser, live_server, viewport=page.viewport_size) as student:
        student.goto("/accounts/login")
        log_in(student, email, password)
        expect(student).to_have_url(re.compile("/exercises/"))
        student.goto(f"/comments/attempts/{attempt_id}")
        audio = student.locator("article.comment audio.voice-player").last
        expect(audio).to_have_attribute("preload", "metadata")
        assert audio.evaluate(PLAYS) > 0.5
