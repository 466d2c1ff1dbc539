"""Fixtures: real Redis, real PostgreSQL and SQLite, the app, clients, users.

Every test that uses ``app`` runs twice, once on SQLite and once on PostgreSQL; the schema is
built by the migrations, as in production.

One request, one context. The ``app`` fixture pushes an app context for the test's own
database work (its rows, its queries: ``db.session`` in a test is the test's session, like a
shell beside the running site). Each request the test client makes, and each command the CLI
runner invokes, runs in a fresh ``contextvars.Context``, where no app context is current, so
Flask pushes one for it alone: its own ``g`` and its own database session, removed at its end,
as in production. A row the test loaded before a request is therefore the test's copy: read it
again (``db.session.expire_all()`` or ``refresh``) to see what the request wrote. Build other
apps with ``create_test_app`` to get the same client and runner.

Classes decide who sees what (practika/permissions.py): an exercise is a draft, seen by its
author and staff only, until it is published to a class. ``classroom`` is the ``teacher``'s
class with the ``student`` in it; ``publish_to(exercise, classroom)`` publishes an exercise
as a test's setup, without the check that its model video plays (the service's own rules are
tested in tests/test_classes_services.py), so a test can publish an exercise with no video.
"""

from __future__ import annotations

import contextvars
import functools
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
import werkzeug.security
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from xdist.scheduler import LoadScopeScheduling

from practika import create_app
from practika.accounts import models as account_models
from practika.accounts.models import Role, RoleName
from practika.accounts.services import users as user_services
from practika.accounts.services.users import create_user
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.classes.services import create_class
from practika.config import BASE_DIR, TestConfig
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db, limiter
from practika.queue import get_redis
from tests.services import PostgresServer, RedisServer, free_port, wait_for

pytest_plugins = ["tests.media_samples"]

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True, scope="session")
def small_demo_video():
    """The demo's model video, short and small: the pipeline is the same, the wait is not."""
    from practika import demo

    full = demo.DEMO_VIDEO
    demo.DEMO_VIDEO = {"seconds": 3, "width": 640, "height": 360}
    yield
    demo.DEMO_VIDEO = full


class BrowserTestsTogether(LoadScopeScheduling):
    """pytest-xdist's work units for `make test`: all of tests/e2e as one, so one process
    runs them with one live server, its worker and one Chromium; every other file as one.
    The browser tests, mostly waiting for a page or a video, start first, and the other
    processes fill that time with the rest of the suite."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return "tests/e2e" if path.startswith("tests/e2e/") else path


def pytest_xdist_make_scheduler(config, log):
    return BrowserTestsTogether(config, log)


@pytest.fixture(autouse=True, scope="session")
def passwords_hashed_once():
    """scrypt takes a tenth of a second by design, and the suite makes and logs in thousands
    of users with a handful of passwords. Werkzeug still hashes and checks every password,
    but each password once and each (hash, password) pair once per run: users with the same
    password share a salt here, which no test compares."""
    hashed = functools.cache(werkzeug.security.generate_password_hash)
    checked = functools.cache(werkzeug.security.check_password_hash)
    with pytest.MonkeyPatch.context() as patch:
        for module in (account_models, user_services):
            patch.setattr(module, "generate_password_hash", hashed)
            patch.setattr(module, "check_password_hash", checked)
        yield


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def own_redis():
    """A redis-server of the test's own, which it may stop."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer().start()
    yield server
    server.stop()


class RequestClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def __enter__(self):
        # Contexts kept after a request would live in that request's own contextvars.Context.
        raise TypeError("each request has a context of its own: there is none to preserve")


class CommandRunner(FlaskCliRunner):
    """A CLI runner whose every command gets its own app context, pushed before the command
    runs as ``flask`` pushes it (``app.cli`` alone pushes none for a plain click group such as
    ``admin``)."""

    def invoke(self, *args, **kwargs):
        def in_own_context():
            with self.app.app_context():
                return super(CommandRunner, self).invoke(*args, **kwargs)

        return contextvars.Context().run(in_own_context)


def create_test_app(config: TestConfig) -> Flask:
    """The app for ``config``, with the test client and CLI runner above."""
    app = create_app(config)
    app.test_client_class = RequestClient
    app.test_cli_runner_class = CommandRunner
    return app


def make_config(database_url: str, redis_url: str, instance: Path, **env: str) -> TestConfig:
    environ = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(instance),
        "STORAGE_URL": str(instance / "media"),
        **env,
    }
    return TestConfig(environ)


def _migrated(url: str, redis_url: str, instance: Path) -> str:
    """``url``'s database, built by running the migrations."""
    app = create_app(make_config(url, redis_url, instance))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory, redis_server) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'practika.db'}"
    return _migrated(url, redis_server.url, tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def postgresql_database(tmp_path_factory, redis_server, postgres_server) -> str:
    url = postgres_server.create_database("practika_test")
    return _migrated(url, redis_server.url, tmp_path_factory.mktemp("instance"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Each test on both backends. Each database is built once per test process and kept,
    so a process may run tests in any order of backends (pytest-xdist hands them out by
    file) without building either again."""
    return request.getfixturevalue(f"{request.param}_database")


def _empty_tables() -> None:
    """Delete every row the test made; the roles the migration created stay."""
    for table in reversed(db.metadata.sorted_tables):
        if table.name != Role.__tablename__:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url, redis_server, tmp_path):
    # The limiter is one object per process: a test that stopped Redis leaves it counting in
    # memory until it next probes Redis, and the switch back splits the next test's counts.
    limiter._storage_dead = False
    app = create_test_app(make_config(database_url, redis_server.url, tmp_path / "instance"))
    with app.app_context():  # the test's own, for its direct database work
        yield app
        db.session.remove()
        _empty_tables()
        get_redis().flushdb()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _make_user(role: str | None, name: str, *, staff: bool = False):
    user = create_user(
        email=f"{name}@example.com",
        username=name,
        password=PASSWORD,
        role=role,
        is_staff=staff,
        email_verified=True,
    )
    db.session.commit()
    return user


@pytest.fixture
def teacher(app):
    return _make_user(RoleName.TEACHER, "tess")


@pytest.fixture
def student(app):
    return _make_user(RoleName.STUDENT, "sam")


@pytest.fixture
def staff_user(app):
    return _make_user(None, "ada", staff=True)


@pytest.fixture
def classroom(teacher, student) -> Classroom:
    """The teacher's class, with the student in it."""
    made = create_class("Tuesday group", teacher)
    put_in(made, student)
    return made


def put_in(classroom: Classroom, student) -> None:
    """Make ``student`` a student of ``classroom``."""
    classroom.members.append(ClassMember(user=student, role=MemberRole.STUDENT))
    db.session.commit()


def exercise_with_model(teacher: account_models.User, name: str = "Scales") -> Exercise:
    """A new exercise of ``teacher``'s whose 12 s model video is ready (its row made by hand,
    no FFmpeg), added to the session: publish it with ``publish_to``."""
    rendition = {"path": "videos/m/360p.mp4", "height": 360}
    model = VideoAsset(
        owner=teacher, processing_status="ready", duration_sec=12.0, renditions={"360p": rendition}
    )
    exercise = Exercise(name=name, created_by=teacher, video_asset=model)
    db.session.add(exercise)
    return exercise


def publish_to(exercise: Exercise, classroom: Classroom) -> Exercise:
    """Publish ``exercise`` (saved with it if new) to ``classroom`` as it stands: no check
    that its video plays."""
    exercise.publications.append(Publication(classroom=classroom))
    db.session.add(exercise)
    db.session.commit()
    return exercise


def log_in(client, login: str, password: str = PASSWORD):
    return client.post("/accounts/login", data={"email": login, "password": password})


@pytest.fixture
def teacher_client(client, teacher):
    log_in(client, teacher.email)
    return client


@pytest.fixture
def student_client(client, student):
    log_in(client, student.email)
    return client


@contextmanager
def running_worker(app, **env: str):
    """A real RQ worker process (``python worker.py``) with the app's settings (and ``env``).

    It waits until this very worker has registered with Redis, and stops it afterwards.
    """
    from rq import Worker

    config = app.config
    settings = {
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "INSTANCE_PATH": app.instance_path,
        "STORAGE_URL": config["STORAGE_URL"],
        "PRACTIKA_ENV": "development",
    }
    process = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=BASE_DIR,
        env={**os.environ, **settings, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: any(w.pid == process.pid for w in Worker.all(connection=get_redis())),
            what="RQ worker",
        )
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def worker(app):
    """A real worker on the test's Redis, database and storage."""
    with running_worker(app) as process:
        yield process


def process_now(asset_id) -> None:
    """Run the real processing job in this process (real FFmpeg, no queue in between)."""
    from practika.core.tasks import process_video

    process_video(str(asset_id))


def make_playable(asset_id) -> None:
    """The worker's first playable write on the video's row, without FFmpeg (a rendition is
    named), for tests of what follows it."""
    rendition = {"path": f"videos/{asset_id}/360p.mp4", "height": 360}
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == uuid.UUID(str(asset_id)))
        .values(renditions={"360p": rendition})
    )
    db.session.commit()


def seed_demo_processed():
    """The demo data (which puts its model video through the pipeline); returns the
    exercise."""
    from practika.demo import seed_demo

    seed_demo()
    return db.session.scalar(sa.select(Exercise))


@pytest.fixture(scope="session")
def video_bytes(tmp_path_factory) -> bytes:
    """A short real video's bytes, to upload."""
    from practika.media.synth import synth_video

    path = synth_video(tmp_path_factory.mktemp("u") / "v.mp4", seconds=2, width=320, height=240)
    return path.read_bytes()


def count_rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3 endpoint over HTTP: moto's server mode, which boto3 talks to like AWS."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, aws_credentials):
    """A fresh bucket; returns the STORAGE_URL and endpoint for a config."""
    import boto3

    bucket = f"practika-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return {"STORAGE_URL": f"s3://{bucket}/media", "S3_ENDPOINT_URL": s3_endpoint}


@pytest.fixture
def s3_app(app, database_url, redis_server, s3_bucket, tmp_path):
    """The app with its media in a fresh bucket (the ``app`` fixture's database and Redis)."""
    s3_app = create_test_app(
        make_config(database_url, redis_server.url, tmp_path / "s3", **s3_bucket)
    )
    with s3_app.app_context():
        yield s3_app


@pytest.fixture
def bucket_client(s3_bucket):
    """The test's bucket, through boto3. Afterwards moto forgets everything: its state dump,
    which the SES tests read from the same server, fails on the multipart uploads made with
    it (each test makes its own bucket and SES identity, so nothing else is lost)."""
    import boto3
    import urllib3

    bucket = s3_bucket["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    client = boto3.client("s3", endpoint_url=s3_bucket["S3_ENDPOINT_URL"], region_name="us-east-1")
    yield bucket, client
    urllib3.request("POST", f"{s3_bucket['S3_ENDPOINT_URL']}/moto-api/reset", timeout=10)


def put_part(url: str, data: bytes) -> str:
    """What a client does: bytes straight to S3 with a URL the app signed (with urllib3, as
    boto3 itself sends; the standard library's urlopen got no answer from the test
    endpoint); the ETag S3 answers."""
    import urllib3

    response = urllib3.request("PUT", url, body=data, timeout=30)
    assert response.status == 200, response.data
    return response.headers["ETag"]


@contextmanager
def sql_statements():
    """The SQL statements the app's engine runs inside the block, in order."""
    statements: list[str] = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", collect)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", collect)


@pytest.fixture
def aws_credentials(monkeypatch):
    """Credentials for moto's endpoints (boto3 signs every request, moto accepts any)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
