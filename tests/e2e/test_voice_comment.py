"""A voice comment in Chromium, at desktop and phone size, against the live server and a real
worker: the teacher, on a student's attempt, records 2 s with the (fake) microphone, listens
back, sends it as feedback at a moment; the worker makes it an .m4a; the student plays it.

The attempt is a student's of their own in the demo class (so the demo student's pages stay
as other tests expect), made by the real pipeline in this process."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from practika import create_app
from practika.accounts.models import RoleName
from practika.accounts.services.users import create_user
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.comments.models import CommentKind, VideoComment
from practika.config import TestConfig
from practika.core.services import store_upload
from practika.core.tasks import process_video
from practika.demo import DEMO_CLASS, DEMO_EXERCISE
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.media.synth import synth_video
from tests.e2e.conftest import PROCESSED, watched_page
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
def attempt_id(live_server, live_env) -> Iterator[str]:
    """An attempt of a student of the demo class at the demo exercise, already playable."""
    app = create_app(TestConfig(live_env))
    with app.app_context():
        email, username, password = STUDENT
        student = create_user(
            email=email,
            username=username,
            password=password,
            role=RoleName.STUDENT,
            email_verified=True,
        )
        classroom = db.session.scalar(sa.select(Classroom).where(Classroom.name == DEMO_CLASS))
        classroom.members.append(ClassMember(user=student, role=MemberRole.STUDENT))
        exercise = db.session.scalar(sa.select(Exercise).where(Exercise.name == DEMO_EXERCISE))
        with tempfile.TemporaryDirectory() as tmp:
            path = synth_video(Path(tmp) / "take.mp4", seconds=4, width=640, height=360)
            with path.open("rb") as stream:
                video = store_upload(stream, owner=student, filename="take.mp4")
        attempt = VideoComment(
            exercise=exercise, author=student, kind=CommentKind.ATTEMPT, video_asset=video
        )
        db.session.add(attempt)
        db.session.commit()
        ids = str(attempt.id), str(video.id)
        process_video(ids[1])
        db.session.remove()
    yield ids[0]


def test_a_voice_comment_is_recorded_processed_and_played(
    page: Page, browser, live_server, live_worker, attempt_id, size, shoot
) -> None:
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page).to_have_url(re.compile("/exercises/"))
    page.goto(f"/comments/attempts/{attempt_id}")
    form = page.locator(f"#comment-form-{attempt_id}")
    form.get_by_label("At (seconds)").fill("1.5")
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
