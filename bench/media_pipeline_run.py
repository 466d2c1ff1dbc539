"""One run of the media pipeline on one source, for bench_media.py; prints one JSON line.

Usage: python bench/media_pipeline_run.py SOURCE OUTDIR, with the code root to measure on
PYTHONPATH and as the working directory. bench_media.py runs this file by path against its
own tree and against a baseline checkout, so it uses only what both have: create_app,
TestConfig, flask_migrate.upgrade, create_user, store_upload, process_video and VideoAsset.

OUTDIR gets the SQLite database and the media folder; the bench reads the renditions there
and deletes it afterwards. Setting up (migrations, the user, the upload) is not timed: the
clock and the CPU count start when ``process_video`` is called, as a worker would call it.
The JSON line holds:

- ``cpu``: CPU seconds of ``process_video``: this process and its FFmpeg children, less
  what the watcher thread below spent polling;
- ``playable_native``: seconds until ``native_path`` was first set (a copy of the source
  for the browsers that play its codecs), or null when the code has no such column or the
  source got none;
- ``playable``: seconds until ``renditions`` was first non-empty (plays in every browser);
- ``ready``: seconds until ``process_video`` returned with the video ready;
- ``renditions``: the final renditions, each with its absolute ``file``, ``width``,
  ``height`` and ``bitrate``;
- ``native``: the storage key of the native copy as the watcher saw it, or null (the
  pipeline deletes the copy and clears its column once the video is ready).
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from practika import create_app
from practika.accounts.services.users import create_user
from practika.config import TestConfig
from practika.core.models import VideoAsset
from practika.core.services import store_upload
from practika.core.tasks import process_video
from practika.extensions import db

POLL_SECONDS = 0.02
# Older code has no native copy; its absence reads as "never set".
NATIVE = getattr(VideoAsset, "native_path", None)


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User and system CPU of ``who``; for this process, its finished children too."""
    used = resource.getrusage(who)
    total = used.ru_utime + used.ru_stime
    if who == resource.RUSAGE_SELF:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += kids.ru_utime + kids.ru_stime
    return total


def uploaded_app(source: Path, outdir: Path):
    """A migrated app on a database and media folder of its own, with ``source`` uploaded."""
    media = outdir / "instance" / "media"
    app = create_app(
        TestConfig(
            {
                "DATABASE_URL": f"sqlite:///{outdir / 'bench.db'}",
                "REDIS_URL": "unix:///nonexistent/redis.sock",  # nothing is queued here
                "INSTANCE_PATH": str(outdir / "instance"),
                "STORAGE_URL": str(media),
            }
        )
    )
    with app.app_context():
        flask_migrate.upgrade()
        owner = create_user(
            email="bench@example.com",
            username="bench",
            password="pipeline passphrase",
            role="teacher",
        )
        with source.open("rb") as stream:
            asset = store_upload(stream, owner=owner, filename=source.name)
        db.session.commit()
        return app, asset.id, media


class Watcher(threading.Thread):
    """Polls the row on a connection of its own, as the status fragment would read it, and
    notes when each step first showed. It counts the CPU it spends, so the caller can leave
    that out of the pipeline's."""

    def __init__(self, app, asset_id) -> None:
        super().__init__()
        self.app, self.asset_id = app, asset_id
        self.done = threading.Event()
        self.seen: dict[str, float] = {}
        self.native_key: str | None = None
        self.cpu = 0.0

    def run(self) -> None:
        started = cpu_seconds(resource.RUSAGE_THREAD)
        columns = [VideoAsset.renditions] + ([NATIVE] if NATIVE is not None else [])
        query = sa.select(*columns).where(VideoAsset.id == self.asset_id)
        with self.app.app_context():
            while not self.done.is_set():
                renditions, *native = db.session.execute(query).one()
                now = time.monotonic()
                if renditions:
                    self.seen.setdefault("playable", now)
                if native and native[0] and self.native_key is None:
                    self.seen["playable_native"], self.native_key = now, native[0]
                db.session.rollback()
                time.sleep(POLL_SECONDS)
        self.cpu = cpu_seconds(resource.RUSAGE_THREAD) - started


def measure(source: Path, outdir: Path) -> dict:
    app, asset_id, media = uploaded_app(source, outdir)
    watcher = Watcher(app, asset_id)
    watcher.start()
    started_at, started_cpu = time.monotonic(), cpu_seconds()
    with app.app_context():
        process_video(str(asset_id))
        ready_at = time.monotonic()
        cpu = cpu_seconds() - started_cpu
        asset = db.session.get(VideoAsset, asset_id)
        assert asset.processing_status == "ready", asset.processing_error
        renditions = {
            name: {
                "file": str(media / r["path"]),
                "width": r["width"],
                "height": r["height"],
                "bitrate": r["bitrate"],
            }
            for name, r in asset.renditions.items()
        }
    watcher.done.set()
    watcher.join()

    seen = {step: at - started_at for step, at in watcher.seen.items()}
    return {
        "cpu": cpu - watcher.cpu,
        "playable_native": seen.get("playable_native"),
        # Missed only when it all took less than a poll: then it played when it was ready.
        "playable": seen.get("playable", ready_at - started_at),
        "ready": ready_at - started_at,
        "renditions": renditions,
        "native": watcher.native_key,
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))), flush=True)
