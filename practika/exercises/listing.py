"""The exercise list: search, pages, and per row what its reader needs to know (for a
teacher, attempts awaiting feedback; for a student, their latest attempt). A fixed number of
queries whatever the number of rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.accounts.models import User
from practika.comments.inbox import awaiting_by_exercise, unseen_feedback
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.permissions import newest_visible_exercises

PER_PAGE = 12


@dataclass(frozen=True)
class LatestAttempt:
    """A student's newest attempt at an exercise, as the list shows it."""

    attempt_id: uuid.UUID
    created_at: datetime
    processing_status: str | None
    answered: bool

    @property
    def label(self) -> str:
        if self.answered:
            return "Feedback received"
        if self.processing_status == "failed":
            return "Video failed"
        if self.processing_status != "ready":
            return "Processing"
        return "Waiting for feedback"


@dataclass
class Listing:
    """One page of the list. There is no total: counting every match would read the whole
    table on each keystroke of a search, where a page stops at its last row."""

    exercises: list[Exercise]
    page: int
    has_next: bool
    query: str
    awaiting: dict[uuid.UUID, int] = field(default_factory=dict)
    latest: dict[uuid.UUID, LatestAttempt] = field(default_factory=dict)
    unseen: dict[uuid.UUID, int] = field(default_factory=dict)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matching(query: str) -> sa.ColumnElement[bool]:
    """Every word in the name or the description, in any case."""
    words = query.split()[:8]
    return sa.and_(
        *(
            sa.or_(
                Exercise.name.ilike(f"%{_escape_like(word)}%", escape="\\"),
                Exercise.description.ilike(f"%{_escape_like(word)}%", escape="\\"),
            )
            for word in words
        )
    )


def _latest_attempts(ids: list[uuid.UUID], student: User) -> dict[uuid.UUID, LatestAttempt]:
    ranked = (
        sa.select(
            VideoComment.id,
            VideoComment.exercise_id,
            VideoComment.created_at,
            VideoAsset.processing_status,
            VideoComment.answered_at.is_not(None).label("answered"),
            sa.func.row_number()
            .over(partition_by=VideoComment.exercise_id, order_by=VideoComment.created_at.desc())
            .label("rank"),
        )
        .outerjoin(VideoAsset, VideoAsset.id == VideoComment.video_asset_id)
        .where(
            VideoComment.exercise_id.in_(ids),
            VideoComment.author_id == student.id,
            VideoComment.kind == CommentKind.ATTEMPT,
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            ranked.c.exercise_id,
            ranked.c.id,
            ranked.c.created_at,
            ranked.c.processing_status,
            ranked.c.answered,
        ).where(ranked.c.rank == 1)
    )
    return {row[0]: LatestAttempt(*row[1:]) for row in rows}


def listing_filters(
    reader: User, query: str, newest: int, *more: sa.ColumnElement[bool]
) -> list[sa.ColumnElement[bool]]:
    """What a reader's list holds, newest first: the exercises they may see (their own, and
    those published to their classes; every one for staff); with a search, those matching
    every word; and ``more`` (where a page starts). Enough for the ``newest`` first rows:
    page the query up to that. Pages and the API list alike."""
    where = [_matching(query), *more] if query else list(more)
    return [newest_visible_exercises(reader, where, newest)]


def list_exercises(reader: User, *, query: str = "", page: int = 1) -> Listing:
    """One page of the exercises ``reader`` sees, newest first."""
    query = query.strip()[:100]
    page = max(page, 1)
    where = listing_filters(reader, query, page * PER_PAGE + 1)
    exercises = db.session.scalars(
        sa.select(Exercise)
        .options(
            so.joinedload(Exercise.video_asset),
            so.joinedload(Exercise.created_by).lazyload(User.profile),
            so.selectinload(Exercise.publications),  # the author's "Draft" tag
        )
        .where(*where)
        .order_by(Exercise.created_at.desc(), Exercise.id)
        .limit(PER_PAGE + 1)
        .offset((page - 1) * PER_PAGE)
    ).all()
    listing = Listing(list(exercises[:PER_PAGE]), page, len(exercises) > PER_PAGE, query)
    exercises = listing.exercises
    ids = [exercise.id for exercise in exercises]
    if ids and (reader.is_teacher or reader.is_staff):
        listing.awaiting = awaiting_by_exercise(reader, ids)
    elif ids:
        listing.latest = _latest_attempts(ids, reader)
        listing.unseen = unseen_feedback(reader, ids)
    return listing
