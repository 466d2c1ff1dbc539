"""The product's main journey, in Chromium at desktop and phone size, against the live server
and a real worker: a teacher builds an exercise from an uploaded video, marks two clips and
publishes it to their class; a student of the class records an attempt with the (fake)
camera through MediaRecorder, sends it, sees it processed and plays it side by side with a
clip; the teacher answers at a moment of it; the student sees the feedback, and its
timestamp seeks the player."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from practika import create_app
from practika.classes.models import Classroom
from practika.classes.services import publish
from practika.config import TestConfig
from practika.demo import DEMO_CLASS
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.media.synth import synth_video
from tests.e2e.conftest import (
    ARTIFACTS,
    PATIENCE,
    PROCESSED,
    VIEWPORTS,
    broken_asset,
    console_error,
)
from tests.e2e.test_smoke import STUDENT, TEACHER, log_in

SEEK = """(video, seconds) => new Promise(resolve => {
  video.addEventListener("seeked", () => resolve(video.currentTime), {once: true});
  video.currentTime = seconds;
})"""
# Resolves once the video plays and its time moves, or once it has played to its end (a short
# attempt may end before this is asked).
PLAYING = """video => new Promise(resolve => {
  const played = () => video.ended || (!video.paused && video.currentTime > 0);
  const check = () => played() && resolve(true);
  check();
  video.addEventListener("timeupdate", check);
  video.addEventListener("ended", check);
})"""

# Notes where the next seek lands, as it lands: the player plays on from there, so reading
# currentTime later would depend on how quickly the test asks.
NOTE_SEEK = """video => video.addEventListener("seeked", () => {
  video.dataset.seekedTo = video.currentTime;
}, {once: true})"""

# A clip title's width, the width its text needs (more when it is cut off), and its row's.
TITLE_ROOM = """title => [title.clientWidth, title.scrollWidth,
  title.closest(".clip-row").clientWidth]"""


def second_page(browser: Browser, base_url: str, size: str, errors: list[str]) -> Page:
    """Another person's browser, watched for errors like the ``page`` fixture's."""
    context = browser.new_context(
        base_url=base_url,
        viewport=VIEWPORTS[size],
        is_mobile=size == "phone",
        has_touch=size == "phone",
        permissions=["camera", "microphone"],
    )
    context.set_default_timeout(PATIENCE)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: console_error(message, errors))
    page.on("response", lambda response: broken_asset(response, errors))
    return page


def snap(page: Page, size: str, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{size}-{name}.png", full_page=True)


def publish_to_the_demo_class(live_env: dict[str, str], name: str) -> None:
    """The teacher publishes the exercise to their class, by the service the class pages will
    call: the pages come with the rest of issue 13, and this step then becomes a click."""
    app = create_app(TestConfig(live_env))
    with app.app_context():
        exercise = db.session.scalar(sa.select(Exercise).where(Exercise.name == name))
        classroom = db.session.scalar(sa.select(Classroom).where(Classroom.name == DEMO_CLASS))
        publish(exercise, [classroom])  # refuses a video that does not play yet
        db.session.commit()
        db.engine.dispose()


def mark_clip(page: Page, player, start: float, end: float, title: str) -> None:
    player.evaluate(SEEK, start)
    page.get_by_role("button", name="Start here").click()
    player.evaluate(SEEK, end)
    page.get_by_role("button", name="End here").click()
    expect(page.get_by_label("End (s)")).to_have_value(f"{end:g}")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_role("button", name="Add clip").click()
    expect(page.locator(".clip-loop", has_text=title)).to_be_visible()


@pytest.mark.timeout(600)  # a ceiling for a loaded machine; about 30 s when idle
def test_teacher_and_student_practise_and_give_feedback(
    page: Page, browser: Browser, live_server: str, live_env, live_worker, shoot, size, tmp_path
) -> None:
    name = f"Footwork on {size}"
    # The teacher builds the exercise from an uploaded video and waits for it.
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.goto("/exercises/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("Step, turn, step.\nSee https://example.com/notes")
    page.get_by_label("Upload a video").set_input_files(
        synth_video(tmp_path / "model.mp4", seconds=4, width=640, height=360)
    )
    shoot("exercise-form")
    with page.expect_request(lambda request: request.method == "PATCH"):
        page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    model = page.locator(".stage video")
    expect(model).to_be_visible(timeout=PROCESSED)
    expect(page.get_by_role("button", name="Add clip")).to_be_visible(timeout=PROCESSED)

    mark_clip(page, model, 0.5, 1.5, "Step")
    mark_clip(page, model, 2.0, 3.0, "Turn on the left foot")
    turn = page.locator(".clip-loop", has_text="Turn")
    turn.click()  # drill it: the player loops the clip
    expect(turn).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".loop-status")).to_contain_text("Turn")
    expect(page.locator(".clip-download")).to_have_count(2, timeout=PROCESSED)  # both cut
    for title in page.locator(".clip-name").all():  # readable beside its times, phones too
        width, needed, row = title.evaluate(TITLE_ROOM)
        assert width >= row / 3 and needed <= width, f"a clip title has {width} of {row} px"
    shoot("exercise-teacher")
    exercise_url = page.url
    publish_to_the_demo_class(live_env, name)

    # The student, in the class, finds it by searching, records and sends the attempt.
    errors: list[str] = []
    student = second_page(browser, live_server, size, errors)
    student.goto("/accounts/login")
    log_in(student, STUDENT.email, STUDENT.password)
    expect(student.get_by_role("heading", level=1)).to_have_text("Exercises")
    search = student.get_by_label("Search exercises")
    search.fill(f"footwork on {size}")
    # Enter sends the search too: on a loaded machine the page swapped in after the login
    # can take the typing before htmx has bound the search-as-you-type trigger to it.
    search.press("Enter")
    expect(student.locator("#exercise-list .card")).to_have_count(1)
    student.get_by_role("link", name=name).click()
    form = student.locator("#attempt-form")
    form.locator("[data-recorder-start]").click()
    # Two seconds of picture: the recorder's own clock says so.
    expect(form.locator("[data-recorder-message]")).to_contain_text("Recording 0:02")
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-preview]")).to_be_visible()
    expect(form.get_by_role("button", name="Retake")).to_be_visible()
    form.get_by_label("Note for your teacher").fill("The turn is hard.")
    snap(student, size, "attempt-recorded")
    # The take went up while it was recorded: by now it is all on the server.
    expect(form.locator("[data-recorder-message]")).to_contain_text("It is uploaded")
    form.get_by_role("button", name="Send attempt").click()
    expect(student).to_have_url(re.compile(r"/comments/attempts/"))
    attempt_url = student.url
    attempt_video = student.locator(".compare-side").first.locator(".stage video")
    expect(attempt_video).to_be_visible(timeout=PROCESSED)

    # Side by side: loop a clip of the model and start both together.
    student.locator(".clip-picks").get_by_role("button", name=re.compile("Turn")).click()
    student.get_by_role("button", name="Play both together").click()
    model_video = student.locator(".compare-side").nth(1).locator(".stage video")
    expect(student.get_by_role("button", name="Play both together")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert model_video.evaluate(PLAYING) and attempt_video.evaluate(PLAYING)
    snap(student, size, "attempt-side-by-side")

    # The teacher sees it waiting for feedback and answers at a moment.
    page.goto(exercise_url)
    expect(page.get_by_text("Awaiting feedback")).to_be_visible()
    page.goto(attempt_url)
    their_video = page.locator(".compare-side").first.locator(".stage video")
    expect(their_video).to_be_visible()
    their_video.evaluate(SEEK, 1.2)
    page.get_by_role("textbox", name="Feedback").focus()  # pauses the take, stamps its moment
    expect(page.locator("[data-stamp-words]")).to_have_text("At 0:01.2")
    page.get_by_role("textbox", name="Feedback").fill("Keep the knee soft here.")
    page.get_by_role("button", name="Send feedback").click()
    feedback = page.locator("#feedback .comment", has_text="Keep the knee soft")
    expect(feedback).to_be_visible()
    expect(page.locator("#feedback .count")).to_have_text("1")
    shoot("attempt-feedback-teacher")

    # The student reads it; its timestamp seeks their video there.
    student.goto(attempt_url)
    note = student.locator("#feedback .comment", has_text="Keep the knee soft")
    attempt_video.evaluate(NOTE_SEEK)
    note.get_by_role("button", name=re.compile("0:01")).click()
    expect(attempt_video).to_have_attribute("data-seeked-to", re.compile(r"\d"))
    at = float(attempt_video.get_attribute("data-seeked-to"))
    assert 1.1 <= at <= 2.0, f"the timestamp should seek to 1.2 s, the player is at {at}"
    snap(student, size, "attempt-feedback-student")
    student.context.close()
    assert not errors, f"the student's browser reported errors: {errors}"
