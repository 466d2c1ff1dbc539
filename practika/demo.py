"""Demo data for ``make run``: a teacher, a student, an admin and one exercise with a video."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from practika.accounts.models import RoleName, User
from practika.accounts.services import create_user
from practika.core.models import VideoAsset
from practika.core.services import enqueue_processing, store_upload
from practika.exercises.models import Exercise
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
    DemoAccount("teacher@practika.test", "demo-teacher", "practika-teacher", RoleName.TEACHER),
    DemoAccount("student@practika.test", "demo-student", "practika-student", RoleName.STUDENT),
    DemoAccount("admin@practika.test", "demo-admin", "practika-admin", None, is_staff=True),
)
DEMO_VIDEO = {"seconds": 12, "width": 1280, "height": 720}
DEMO_EXERCISE = "Follow the pattern"
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
    exists = sa.select(Exercise.id).where(
        Exercise.created_by_id == teacher.id, Exercise.name == DEMO_EXERCISE
    )
    exercise = None
    if db.session.scalar(exists) is None:
        exercise = Exercise(
            name=DEMO_EXERCISE,
            description=DEMO_DESCRIPTION,
            created_by=teacher,
            video_asset=_demo_video(teacher),
        )
        db.session.add(exercise)
        created.append(f"exercise {DEMO_EXERCISE!r}")
    db.session.commit()
    if exercise is not None:
        enqueue_processing(exercise.video_asset)
    return created


def _demo_video(owner: User) -> VideoAsset:
    """A generated model video, stored as an upload; the pipeline processes it like any other."""
    with tempfile.TemporaryDirectory() as tmp:
        video = synth_video(
            Path(tmp) / "demo.mp4", **DEMO_VIDEO, ffmpeg_binary=current_app.config["FFMPEG_BINARY"]
        )
        with video.open("rb") as stream:
            return store_upload(stream, owner=owner, filename="demo-pattern.mp4")
