"""The class's progress grid: its students by its published exercises, each cell the state
of the student's latest attempt. Three queries whatever the size of the class."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.accounts.models import User
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.comments.models import CommentKind, VideoComment
from practika.comments.threads import is_handled
from practika.core.models import ProcessingStatus, VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db

LABELS = {
    "answered": "Answered",
    "waiting": "Waiting for feedback",
    "processing": "Processing",
    "failed": "Video failed",
}


@dataclass(frozen=True)
class Cell:
    attempt_id: uuid.UUID
    state: str  # a key of LABELS

    @property
    def label(self) -> str:
        return LABELS[self.state]


@dataclass
class Grid:
    students: list[User]
    exercises: list[Exercise]
    cells: dict[tuple[int, uuid.UUID], Cell]


def _state(status: str | None, answered: bool) -> str:
    if answered:
        return "answered"
    if status == ProcessingStatus.FAILED or status is None:
        return "failed"
    if status != ProcessingStatus.READY:
        return "processing"
    return "waiting"


def progress(classroom: Classroom) -> Grid:
    students = db.session.scalars(
        sa.select(User)
        .join(ClassMember, ClassMember.user_id == User.id)
        .options(so.lazyload(User.profile))
        .where(ClassMember.class_id == classroom.id, ClassMember.role == MemberRole.STUDENT)
        .order_by(sa.func.lower(User.username))
    ).all()
    exercises = db.session.scalars(
        sa.select(Exercise)
        .join(Publication, Publication.exercise_id == Exercise.id)
        .where(Publication.class_id == classroom.id)
        .order_by(Publication.published_at, Exercise.name)
    ).all()
    grid = Grid(list(students), list(exercises), {})
    if not students or not exercises:
        return grid
    ranked = (
        sa.select(
            VideoComment.id,
            VideoComment.author_id,
            VideoComment.exercise_id,
            VideoAsset.processing_status,
            is_handled().label("answered"),
            sa.func.row_number()
            .over(
                partition_by=(VideoComment.author_id, VideoComment.exercise_id),
                order_by=VideoComment.created_at.desc(),
            )
            .label("rank"),
        )
        .outerjoin(VideoAsset, VideoAsset.id == VideoComment.video_asset_id)
        .where(
            VideoComment.kind == CommentKind.ATTEMPT,
            VideoComment.author_id.in_([student.id for student in students]),
            VideoComment.exercise_id.in_([exercise.id for exercise in exercises]),
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            ranked.c.id,
            ranked.c.author_id,
            ranked.c.exercise_id,
            ranked.c.processing_status,
            ranked.c.answered,
        ).where(ranked.c.rank == 1)
    )
    for attempt_id, author_id, exercise_id, status, answered in rows:
        grid.cells[(author_id, exercise_id)] = Cell(attempt_id, _state(status, bool(answered)))
    return grid
