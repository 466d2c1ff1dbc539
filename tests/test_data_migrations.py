"""Migrations that move data, each run from a database at the revision before it, filled as
the app left it, on SQLite and PostgreSQL:

- 0008 moves what there was into classes: each teacher gets a class holding the students who
  attempted their exercises, with their exercises published to it (until then everyone
  logged in saw every exercise);
- 0009 stamps each attempt with when it was first answered;
- 0010 adds the cleanup notice and Keep to the videos there are, and takes them off again;
- 0014 counts the attempts whose video plays as announced (the worker announced them)."""

from __future__ import annotations

import uuid
from datetime import datetime

import flask_migrate
import pytest
import sqlalchemy as sa

from practika import create_app
from practika.classes.models import CODE_ALPHABET, CODE_LENGTH, ClassMember, Classroom
from practika.comments.models import VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Publication
from practika.extensions import db
from tests.conftest import make_config

# The tables as revisions 0007 and 0008 have them: the models describe the newest schema.
USERS = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("username", sa.String),
    sa.column("email", sa.String),
    sa.column("password_hash", sa.String),
    sa.column("first_name", sa.String),
)
PROFILES = sa.table(
    "profiles",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("role_id", sa.Integer),
)
ROLES = sa.table("roles", sa.column("id", sa.Integer), sa.column("name", sa.String))
EXERCISES = sa.table(
    "exercises",
    sa.column("id", sa.Uuid),
    sa.column("name", sa.String),
    sa.column("created_by_id", sa.Integer),
)
VIDEOS = sa.table(
    "video_assets",
    sa.column("id", sa.Uuid),
    sa.column("orig_filename", sa.String),
    sa.column("video_type", sa.String),
    sa.column("processing_status", sa.String),
    sa.column("renditions", sa.JSON),
)
COMMENTS = sa.table(
    "video_comments",
    sa.column("id", sa.Uuid),
    sa.column("exercise_id", sa.Uuid),
    sa.column("author_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("text", sa.String),
    sa.column("parent_id", sa.Uuid),
    sa.column("created_at", sa.DateTime),
    sa.column("video_asset_id", sa.Uuid),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated(request, tmp_path, redis_server):
    """An app on an empty database of its own; each test migrates it where it needs."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database("practika_old")
    app = create_app(make_config(url, redis_server.url, tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _person(user_id: int, username: str, role: str, first_name: str = "") -> None:
    role_id = db.session.scalar(sa.select(ROLES.c.id).where(ROLES.c.name == role))
    db.session.execute(
        USERS.insert().values(
            id=user_id,
            username=username,
            email=f"{username}@example.com",
            password_hash="x",
            first_name=first_name,
        )
    )
    db.session.execute(PROFILES.insert().values(id=user_id, user_id=user_id, role_id=role_id))


def _exercise(name: str, teacher_id: int) -> uuid.UUID:
    exercise_id = uuid.uuid4()
    db.session.execute(
        EXERCISES.insert().values(id=exercise_id, name=name, created_by_id=teacher_id)
    )
    return exercise_id


def _comment(
    exercise_id: uuid.UUID,
    author_id: int,
    kind: str,
    parent: uuid.UUID | None = None,
    at: datetime | None = None,
) -> uuid.UUID:
    comment_id = uuid.uuid4()
    db.session.execute(
        COMMENTS.insert().values(
            id=comment_id,
            exercise_id=exercise_id,
            author_id=author_id,
            kind=kind,
            text="x",
            parent_id=parent,
            created_at=at or datetime(2026, 1, 1),
        )
    )
    return comment_id


def test_each_teacher_gets_a_class_with_their_students_and_exercises(unmigrated):
    flask_migrate.upgrade(revision="0007")
    tess, tom, sam, nora = 1, 2, 3, 4
    _person(tess, "tess", "teacher", first_name="Tess")
    _person(tom, "tom", "teacher")  # no exercises
    _person(sam, "sam", "student")  # attempted one of Tess's exercises, twice
    _person(nora, "nora", "student")  # only wrote in the discussion
    scales, arpeggio = _exercise("Scales", tess), _exercise("Arpeggio", tess)
    _comment(scales, sam, "attempt")
    _comment(scales, sam, "attempt")
    _comment(scales, tess, "comment")
    _comment(arpeggio, nora, "comment")
    db.session.commit()

    flask_migrate.upgrade()

    classes = {c.created_by_id: c for c in db.session.scalars(sa.select(Classroom))}
    assert set(classes) == {tess, tom}  # one class each, the students get none
    members = {(m.class_id, m.user_id): m.role for m in db.session.scalars(sa.select(ClassMember))}
    assert members == {
        (classes[tess].id, tess): "teacher",
        (classes[tess].id, sam): "student",
        (classes[tom].id, tom): "teacher",
    }
    published = set(db.session.execute(sa.select(Publication.exercise_id, Publication.class_id)))
    assert published == {(scales, classes[tess].id), (arpeggio, classes[tess].id)}
    assert [classes[tess].name, classes[tom].name] == ["Tess's class", "tom's class"]
    codes = [c.join_code for c in classes.values()]
    assert all(len(code) == CODE_LENGTH == 8 for code in codes)
    assert all(set(code) <= set(CODE_ALPHABET) for code in codes)


def test_attempts_answered_before_0009_are_stamped_with_their_first_answer(unmigrated):
    flask_migrate.upgrade(revision="0008")
    tess, sam = 1, 2
    _person(tess, "tess", "teacher")
    _person(sam, "sam", "student")
    scales = _exercise("Scales", tess)
    answered = _comment(scales, sam, "attempt")
    _comment(scales, sam, "comment", parent=answered, at=datetime(2026, 1, 2))  # their own note
    _comment(scales, tess, "comment", parent=answered, at=datetime(2026, 1, 4))
    _comment(scales, tess, "comment", parent=answered, at=datetime(2026, 1, 3))
    waiting = _comment(scales, sam, "attempt")
    _comment(scales, sam, "comment", parent=waiting)
    question = _comment(scales, sam, "comment")
    _comment(scales, tess, "comment", parent=question)
    db.session.commit()

    flask_migrate.upgrade()

    stamped = dict(db.session.execute(sa.select(VideoComment.id, VideoComment.answered_at)).all())
    assert stamped[answered] == datetime(2026, 1, 3)
    assert stamped[waiting] is None
    assert stamped[question] is None  # a discussion, not an attempt


def test_videos_before_0010_are_neither_noticed_nor_kept_and_0010_goes_back(unmigrated):
    flask_migrate.upgrade(revision="0009")
    old = uuid.uuid4()
    db.session.execute(VIDEOS.insert().values(id=old, orig_filename="old.mp4", video_type="upload"))
    db.session.commit()

    flask_migrate.upgrade()

    kept = db.session.execute(
        sa.select(VideoAsset.orig_filename, VideoAsset.kept, VideoAsset.cleanup_noticed_at)
    ).all()
    assert kept == [("old.mp4", False, None)]
    db.session.commit()
    flask_migrate.downgrade(revision="0009")
    columns = {column["name"] for column in sa.inspect(db.engine).get_columns("video_assets")}
    indexes = {index["name"] for index in sa.inspect(db.engine).get_indexes("video_assets")}
    assert {"kept", "cleanup_noticed_at"} & columns == set()
    assert {"ix_video_assets_created", "ix_video_assets_cleanup_noticed"} & indexes == set()
    assert db.session.scalar(sa.select(VIDEOS.c.orig_filename)) == "old.mp4"


def test_attempts_whose_video_plays_before_0014_count_as_announced(unmigrated):
    """The worker announced those already: deploying 0014 mails nobody a second time."""
    flask_migrate.upgrade(revision="0013")
    tess, sam = 1, 2
    _person(tess, "tess", "teacher")
    _person(sam, "sam", "student")
    scales = _exercise("Scales", tess)
    plays = {"360p": {"path": "videos/x/360p.mp4", "height": 360}}
    videos = {  # the processing status, and the renditions, of each attempt's video
        "ready": ("ready", plays),
        "remuxed": ("queued", plays),  # plays while its ladder waits for a retry
        "processing": ("processing", {}),
        "failed": ("failed", {}),
    }
    attempts = {}
    for name, (status, renditions) in videos.items():
        video_id = uuid.uuid4()
        db.session.execute(
            VIDEOS.insert().values(
                id=video_id,
                orig_filename=f"{name}.mp4",
                video_type="upload",
                processing_status=status,
                renditions=renditions,
            )
        )
        attempts[name] = _comment(scales, sam, "attempt")
        db.session.execute(
            COMMENTS.update().where(COMMENTS.c.id == attempts[name]).values(video_asset_id=video_id)
        )
    question = _comment(scales, sam, "comment")
    db.session.commit()

    flask_migrate.upgrade()

    announced = dict(
        db.session.execute(sa.select(VideoComment.id, VideoComment.announced_at)).all()
    )
    assert {name for name, id_ in attempts.items() if announced[id_]} == {"ready", "remuxed"}
    assert announced[attempts["ready"]] == datetime(2026, 1, 1)  # its sending stands for it
    assert announced[question] is None
