"""Demo data for ``make run``: a teacher, a student, an admin, the teacher's class with the
student in it, and one exercise published to it, with a model video and clips to drill, a
student's attempt with the teacher's feedback at a moment, and a short discussion.

The model video goes through the pipeline here, in this process, so that the demo plays at
once and its clips can be marked (a clip is cut from a ready video); the attempt and the
clips go to the worker like any other."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from practika.accounts.models import RoleName, User
from practika.accounts.services.tallies import bump
from practika.accounts.services.users import create_user
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.classes.services import create_class
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.core.services import ClipError, enqueue_clip, enqueue_processing, store_upload
from practika.core.tasks import process_video
from practika.exercises.models import Exercise, Publication
from practika.exercises.services import add_clip, create_exercise
from practika.extensions import db
from practika.media.synth import synth_video


@dataclass(frozen=True)
class DemoAccount:
    email: str
    username: str
    password: str
    role: str | None
    is_staff: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("teacher@practika.test", "demo-teacher", "practika-lesson-plan", RoleName.TEACHER),
    DemoAccount("student@practika.test", "demo-student", "practika-daily-drill", RoleName.STUDENT),
    DemoAccount("admin@practika.test", "demo-admin", "practika-operator", None, is_staff=True),
)
DEMO_VIDEO = {"seconds": 12, "width": 1280, "height": 720}
DEMO_CLASS = "Tuesday practice group"
DEMO_EXERCISE = "Follow the pattern"
# Where each clip starts and ends, as a share of the video's length.
DEMO_CLIPS = (
    (0.0, 1 / 3, "The first turn"),
    (1 / 3, 2 / 3, "Halfway: keep the line"),
    (2 / 3, 0.95, "The finish"),
)
DEMO_DESCRIPTION = (
    "Watch the model video once at full speed, then loop it at half speed.\n"
    "Record yourself following the moving pattern and submit your best attempt."
)


def seed_demo() -> list[str]:
    """Create whatever demo data is missing; return what was created, for the CLI to print."""
    created = []
    for account in DEMO_ACCOUNTS:
        if db.session.scalar(sa.select(User).where(User.email == account.email)) is None:
            create_user(
                email=account.email,
                username=account.username,
                password=account.password,
                role=account.role,
                is_staff=account.is_staff,
                email_verified=True,
            )
            created.append(f"user {account.email}")
    db.session.flush()
    teacher = db.session.scalar(sa.select(User).where(User.email == DEMO_ACCOUNTS[0].email))
    student = db.session.scalar(sa.select(User).where(User.email == DEMO_ACCOUNTS[1].email))
    classroom = db.session.scalar(
        sa.select(Classroom).where(
            Classroom.created_by_id == teacher.id, Classroom.name == DEMO_CLASS
        )
    )
    if classroom is None:
        classroom = create_class(DEMO_CLASS, teacher)
        classroom.members.append(ClassMember(user=student, role=MemberRole.STUDENT))
        created.append(f"class {DEMO_CLASS!r} (join code {classroom.display_code})")
    exists = sa.select(Exercise.id).where(
        Exercise.created_by_id == teacher.id, Exercise.name == DEMO_EXERCISE
    )
    if db.session.scalar(exists) is None:
        exercise = create_exercise(name=DEMO_EXERCISE, description=DEMO_DESCRIPTION, author=teacher)
        exercise.video_asset = _demo_video(teacher, "demo-pattern.mp4", DEMO_VIDEO["seconds"])
        # Published ahead of its video's processing (_demo_clips, just below).
        exercise.publications.append(Publication(classroom=classroom))
        attempt = _demo_conversation(exercise, teacher, student)
        db.session.commit()
        enqueue_processing(attempt.video_asset)
        created.append(f"exercise {DEMO_EXERCISE!r}, with an attempt and comments")
        created += _demo_clips(exercise.id)
    db.session.commit()
    return created


def _demo_clips(exercise_id) -> list[str]:
    """Process the model video now (the job the worker runs), then mark its clips."""
    process_video(
        str(db.session.scalar(sa.select(Exercise.video_asset_id).where(Exercise.id == exercise_id)))
    )
    exercise = db.session.get(Exercise, exercise_id)  # the job ends the session
    try:
        length = DEMO_VIDEO["seconds"]
        clips = [
            add_clip(exercise, start * length, end * length, title)
            for start, end, title in DEMO_CLIPS
        ]
    except ClipError as error:
        return [f"no clips: {error}"]
    db.session.commit()
    for clip in clips:
        enqueue_clip(clip)
    return [f"{len(clips)} clips"]


def _demo_conversation(exercise: Exercise, teacher: User, student: User) -> VideoComment:
    """The student's attempt with the teacher's feedback at 0:02, and a question answered."""
    seconds = min(DEMO_VIDEO["seconds"], 4)
    attempt = VideoComment(
        exercise=exercise,
        author=student,
        kind=CommentKind.ATTEMPT,
        text="First try: I lose the pattern halfway.",
        video_asset=_demo_video(student, "my-attempt.mp4", seconds),
    )
    question = VideoComment(
        exercise=exercise, author=student, text="Loop the whole video, or one clip at a time?"
    )
    db.session.add_all(
        [
            attempt,
            question,
            VideoComment(
                exercise=exercise,
                author=teacher,
                parent=attempt,
                at_seconds=2.0,
                text="Here: keep your eyes on the square, not the line.",
            ),
            VideoComment(
                exercise=exercise,
                author=teacher,
                parent=question,
                text="One clip at a time, at half speed, then the whole.",
            ),
        ]
    )
    bump(student.id, "comments_made", 2)
    bump(teacher.id, "comments_made", 2)
    return attempt


def _demo_video(owner: User, filename: str, seconds: float) -> VideoAsset:
    """A generated video, stored as an upload; the pipeline processes it like any other."""
    size = {"width": DEMO_VIDEO["width"], "height": DEMO_VIDEO["height"]}
    with tempfile.TemporaryDirectory() as tmp:
        video = synth_video(
            Path(tmp) / filename,
            seconds=seconds,
            **size,
            ffmpeg_binary=current_app.config["FFMPEG_BINARY"],
        )
        with video.open("rb") as stream:
            return store_upload(stream, owner=owner, filename=filename)
