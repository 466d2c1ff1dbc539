"""The schema: migrations agree with the models on both databases; constraints hold."""

import uuid

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from practika import create_app
from practika.accounts.models import Role, RoleName, User
from practika.accounts.services import AccountError
from practika.accounts.services.users import create_user
from practika.core.models import ProcessingStatus, VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from tests.conftest import make_config


def test_migrations_match_the_models(app):
    """Autogenerate finds nothing to do: the migrations build exactly what the models say."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_and_upgrade_cleanly(tmp_path, redis_server):
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    app = create_app(make_config(url, redis_server.url, tmp_path / "instance"))
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        flask_migrate.upgrade()
        assert "video_comments" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_the_migration_creates_both_roles(app):
    names = set(db.session.scalars(sa.select(Role.name)))
    assert names == {RoleName.STUDENT, RoleName.TEACHER}


def test_email_is_unique_whatever_its_case(app, teacher):
    with pytest.raises(AccountError, match="email is already taken"):
        create_user(email="TESS@Example.COM", username="other", password="long enough", role=None)
    # And the database itself refuses, should a second writer slip past the check.
    db.session.add(User(email=" Tess@EXAMPLE.com ", username="other", password_hash="x"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_user_gets_profile_and_metrics(app, student):
    assert student.profile.role.name == RoleName.STUDENT
    assert student.profile.onboarding_completed is True
    assert student.profile.metrics.exercises_created == 0
    assert student.check_password("correct horse battery")
    assert not student.check_password("wrong")
    assert student.password_hash.startswith("scrypt:")


def test_processing_status_outside_the_lifecycle_is_refused(app, teacher):
    db.session.add(VideoAsset(owner=teacher, processing_status="exploded"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_uuid_keys_round_trip(app, teacher):
    asset = VideoAsset(owner=teacher, processing_status=ProcessingStatus.QUEUED)
    exercise = Exercise(name="Scales", created_by=teacher, video_asset=asset)
    db.session.add(exercise)
    db.session.commit()
    exercise_id = exercise.id
    db.session.expire_all()
    loaded = db.session.get(Exercise, exercise_id)
    assert isinstance(loaded.id, uuid.UUID)
    assert loaded.video_asset.status is ProcessingStatus.QUEUED


def test_deleting_a_user_removes_their_exercises(app, teacher):
    db.session.add(Exercise(name="Scales", created_by=teacher))
    db.session.commit()
    db.session.delete(teacher)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Exercise)) == 0
