"""A database held by a long write elsewhere (SQLite locks the whole file): counters and
"last used" stamps are skipped after a moment instead of failing the page, and a write that
cannot wait any longer answers 503 with Retry-After, not 500. SQLite only: PostgreSQL locks
rows, so a view counter never waits for another request's write there."""

import sqlite3
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from practika import extensions
from practika.accounts.services.api_tokens import issue_token
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.stamps import record_quietly
from tests.conftest import create_test_app, make_config
from tests.test_access_table import _ready_video

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def short_busy_timeout(app, monkeypatch):
    """Writes give up after half a second instead of ten, so the test does not wait."""
    monkeypatch.setattr(extensions, "SQLITE_BUSY_MS", 500)
    db.engine.dispose()  # new connections take the setting


@contextmanager
def database_locked(app):
    """Another process's long write: a connection of its own holds the write lock."""
    path = db.engine.url.database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_views_and_stamps_are_skipped_not_failed(app, teacher_client, teacher, short_busy_timeout):
    asset = _ready_video(teacher, "model")
    exercise = Exercise(name="Scales", created_by=teacher, video_asset=asset)
    db.session.add(exercise)
    _, raw = issue_token(teacher, "script", None)
    db.session.commit()
    with database_locked(app):
        assert teacher_client.get(f"/core/media/{asset.id}/video").status_code == 200
        assert teacher_client.get(f"/exercises/{exercise.id}").status_code == 200
        api = teacher_client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert api.status_code == 200
    db.session.expire_all()
    assert db.session.get(VideoAsset, asset.id).access_count == 0  # skipped, and that is all


def test_a_write_that_cannot_wait_longer_is_a_503_with_retry_after(
    app, teacher_client, teacher, short_busy_timeout
):
    exercise = Exercise(name="Scales", created_by=teacher)
    db.session.add(exercise)
    db.session.commit()
    with database_locked(app):
        answer = teacher_client.post(
            f"/comments/exercises/{exercise.id}",
            data={"text": "Hi"},
            headers={"HX-Request": "true"},
        )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert "busy" in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Exercise)) == 1


def test_a_stamp_is_done_with_its_connection_before_the_pool_takes_it_back(
    database_url, redis_server, tmp_path
):
    """A pool closes a connection handed back beyond its size (NullPool closes every one), or
    lends it to another request: a stamp that touched its connection after the commit
    failed with "Cannot operate on a closed database", a 500 on a media request."""
    config = make_config(database_url, redis_server.url, tmp_path / "instance")
    config.SQLALCHEMY_ENGINE_OPTIONS = {"poolclass": NullPool}
    with create_test_app(config).app_context():
        assert record_quietly(sa.select(1), "a stamp")
        usual = db.session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert usual == extensions.SQLITE_BUSY_MS
        db.session.remove()
