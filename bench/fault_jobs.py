"""Fault drill for the jobs: a worker killed mid-encode, and Redis away for a minute.

(a) A real worker (``python worker.py``, default settings: SWEEP_INTERVAL_SECONDS=60,
    JOB_HEARTBEAT_SECONDS=10, JOB_DEAD_AFTER_SECONDS=60) is SIGKILLed, with its work horse
    and FFmpeg, while it encodes a generated 30 s 720p video; a new worker starts at once,
    as ECS would start a new task. Prints the time from the kill until the video is ready.
(b) With a worker running, Redis is stopped for 60 s; meanwhile a video is uploaded, a clip
    is marked and a password reset is asked for, through the app (Flask test client). Redis
    comes back empty (no persistence: the worst case) and the script prints the time until
    the video is ready, the clip is cut and the reset mail is in the outbox.

Loopback only: a private redis-server on a unix socket, SQLite and media in a temporary
folder, real FFmpeg. Bounded: each wait gives up after a few minutes.
Run: .venv/bin/python bench/fault_jobs.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
import sqlalchemy as sa

from practika import create_app
from practika.accounts.models import RoleName
from practika.accounts.services.users import create_user
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.core.services import enqueue_processing, store_upload
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.media.synth import synth_video
from tests.conftest import PASSWORD, make_config, running_worker
from tests.services import RedisServer, kill_tree

OUTAGE_SECONDS = 60
GIVE_UP_SECONDS = 300


def wait_until(condition, what: str) -> float:
    """Seconds until ``condition()`` holds (polled every 0.2 s); SystemExit past the bound."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > GIVE_UP_SECONDS:
            raise SystemExit(f"gave up after {GIVE_UP_SECONDS} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def row(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def killed_mid_encode(app, teacher, source: Path) -> VideoAsset:
    with source.open("rb") as stream:
        asset = store_upload(stream, owner=teacher, filename="drill.mp4")
    db.session.commit()
    asset_id = asset.id
    with running_worker(app) as first:
        enqueue_processing(asset)

        def encoding() -> bool:
            video = row(VideoAsset, asset_id)
            return video.processing_stage == "renditions" and video.progress_pct > 25

        wait_until(encoding, "the encode to start")
        at = row(VideoAsset, asset_id).progress_pct
        kill_tree(first.pid)
        killed = time.monotonic()
    print(f"(a) worker, work horse and FFmpeg SIGKILLed at {at}% of the video")
    with running_worker(app):
        started = time.monotonic() - killed
        wait_until(lambda: row(VideoAsset, asset_id).status.is_terminal, "the video")
    video = row(VideoAsset, asset_id)
    took = time.monotonic() - killed
    print(
        f"(a) new worker up {started:.0f} s after the kill; video {video.processing_status} "
        f"{took:.0f} s after the kill (attempts {video.attempts}; target < 180 s)"
    )
    return video


def redis_outage(app, redis: RedisServer, teacher, video: VideoAsset, source: Path) -> None:
    exercise = Exercise(name="Drill", video_asset_id=video.id, created_by_id=teacher.id)
    db.session.add(exercise)
    db.session.commit()
    client = app.test_client()
    client.post("/accounts/login", data={"email": teacher.email, "password": PASSWORD})
    outbox = Path(app.config["MAIL_OUTBOX"])
    mails_before = len(list(outbox.glob("*.eml")))
    with running_worker(app):
        redis.process.terminate()
        redis.process.wait()
        down = time.monotonic()
        upload = client.post(
            "/core/uploads/", data={"video": (io.BytesIO(source.read_bytes()), "outage.mp4")}
        )
        clip = client.post(f"/exercises/{exercise.id}/clips", data={"start": "1", "end": "3"})
        reset = client.post("/accounts/reset", data={"email": teacher.email})
        print(
            f"(b) Redis stopped; upload {upload.status_code}, clip {clip.status_code}, "
            f"reset {reset.status_code}"
        )
        new_video = db.session.scalar(
            sa.select(VideoAsset.id).where(VideoAsset.orig_filename == "outage.mp4")
        )
        clip_id = db.session.scalar(sa.select(VideoClip.id))
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))  # the outage itself
        redis.socket.unlink(missing_ok=True)
        redis.start()
        back = time.monotonic()
        print(f"(b) Redis back after {back - down:.0f} s, empty")
        done = {}
        for what, finished in (
            ("mail", lambda: len(list(outbox.glob("*.eml"))) > mails_before),
            (
                "clip",
                lambda: ProcessingStatus(row(VideoClip, clip_id).processing_status).is_terminal,
            ),
            ("video", lambda: row(VideoAsset, new_video).status.is_terminal),
        ):
            wait_until(finished, what)
            done[what] = time.monotonic() - back
    states = {
        "video": row(VideoAsset, new_video).processing_status,
        "clip": row(VideoClip, clip_id).processing_status,
        "mail": "delivered",
    }
    print(
        "(b) after Redis came back: "
        + ", ".join(f"{what} {states[what]} at {seconds:.0f} s" for what, seconds in done.items())
        + f"; all three within {max(done.values()):.0f} s"
    )


def main() -> None:
    redis = RedisServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="practika-fault-") as tmp:
            app = create_app(make_config(f"sqlite:///{tmp}/fault.db", redis.url, Path(tmp)))
            with app.app_context():
                flask_migrate.upgrade()
                teacher = create_user(
                    email="tess@example.com",
                    username="tess",
                    password=PASSWORD,
                    role=RoleName.TEACHER,
                    email_verified=True,
                )
                db.session.commit()
                source = synth_video(Path(tmp) / "drill.mp4", seconds=30, width=1280, height=720)
                video = killed_mid_encode(app, teacher, source)
                short = synth_video(Path(tmp) / "short.mp4", seconds=5, width=640, height=360)
                redis_outage(app, redis, teacher, video, short)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
