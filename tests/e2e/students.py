"""A student of the demo class with an attempt of their own at the demo exercise, whose take
the real pipeline made playable in this process. Tests that need a take make their own
student, so the demo student's pages stay as the other tests expect."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Page

from practika import create_app
from practika.accounts.models import RoleName, User
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


def demo_class_student(login: tuple[str, str, str]) -> User:
    """A new student (``login``: email, username, password) in the demo class, in the app
    context the caller holds (it commits)."""
    email, username, password = login
    student = create_user(
        email=email,
        username=username,
        password=password,
        role=RoleName.STUDENT,
        email_verified=True,
    )
    classroom = db.session.scalar(sa.select(Classroom).where(Classroom.name == DEMO_CLASS))
    classroom.members.append(ClassMember(user=student, role=MemberRole.STUDENT))
    return student


def send_take(student: User, *, width: int = 640, height: int = 360) -> VideoComment:
    """A 4 s take of ``width`` x ``height`` that ``student`` sends at the demo exercise, made
    playable by the real pipeline, in the app context the caller holds: the attempt, read
    again after the job (which closes the session)."""
    exercise = db.session.scalar(sa.select(Exercise).where(Exercise.name == DEMO_EXERCISE))
    with tempfile.TemporaryDirectory() as tmp:
        path = synth_video(Path(tmp) / "take.mp4", seconds=4, width=width, height=height)
        with path.open("rb") as stream:
            video = store_upload(stream, owner=student, filename="take.mp4")
    attempt = VideoComment(
        exercise=exercise, author=student, kind=CommentKind.ATTEMPT, video_asset=video
    )
    db.session.add(attempt)
    db.session.commit()
    attempt_id = attempt.id
    process_video(str(video.id))  # the worker's job, here: the page plays at once
    return db.session.get(VideoComment, attempt_id)


def student_with_take(
    live_env: dict[str, str], login: tuple[str, str, str], *, width: int = 640, height: int = 360
) -> tuple[str, str]:
    """A new student (``login``: email, username, password) in the demo class, with a 4 s take
    of ``width`` x ``height`` sent at the demo exercise and already playable: the attempt's id
    and its player's id."""
    app = create_app(TestConfig(live_env))
    with app.app_context():
        attempt = send_take(demo_class_student(login), width=width, height=height)
        ids = str(attempt.id), f"player-{attempt.video_asset_id}"
        db.session.remove()
        db.engine.dispose()
    return ids


# Pauses a video at a moment once it can seek; resolves with where it stopped.
PAUSE_AT = """([video, time]) => new Promise(resolve => {
  const seek = () => {
    video.addEventListener("seeked", () => resolve(video.currentTime), {once: true});
    video.pause();
    video.currentTime = time;
  };
  if (video.readyState >= 1) seek();
  else video.addEventListener("loadedmetadata", seek, {once: true});
})"""


def pause_take_at(page: Page, seconds: float) -> float:
    """Pause the attempt's take (the lead video of its page) at ``seconds``."""
    take = page.locator(".compare-lead video").element_handle()
    return page.evaluate(PAUSE_AT, [take, seconds])
