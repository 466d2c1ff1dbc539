"""RQ jobs for videos. Each takes an id, reads the row, and always leaves a state behind.

The row is the truth: ``process_video`` claims it with a conditional UPDATE (so a job that
runs twice does the work once), writes its progress to it, and ends it in ``ready`` or
``failed``, or back in ``queued`` with a retry scheduled when the fault was not the file's.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from practika.accounts.tallies import add_video_time
from practika.core.models import PLAYABLE, ProcessingStatus, Stage, VideoAsset, VideoClip
from practika.core.services import enqueue_processing, processing_job_id
from practika.extensions import db
from practika.media.ladder import plan_ladder, playable_by_remux, reusable_top_rung
from practika.media.poster import make_poster
from practika.media.rejections import MediaRejected
from practika.media.transcode import cut_clip, make_renditions, remux_faststart
from practika.media.validate import Limits, validate
from practika.models import utcnow
from practika.queue import get_queue
from practika.storage import get_storage
from practika.webhooks.services import emit

log = logging.getLogger(__name__)
RETRY_DELAYS = (10, 60, 300)  # seconds before the 2nd, 3rd, ... attempt
GAVE_UP = "We could not process this video after several tries. Please try again later."
# Where each stage starts on the progress bar; the renditions fill the rest.
STAGE_START = {Stage.PROBING: 0, Stage.POSTER: 5, Stage.PLAYABLE: 10, Stage.RENDITIONS: 20}


def _update(asset_id: uuid.UUID, **values: Any) -> None:
    """One short transaction on the row (never held open across FFmpeg work)."""
    db.session.execute(
        sa.update(VideoAsset).where(VideoAsset.id == asset_id).values(updated_at=utcnow(), **values)
    )
    db.session.commit()
    if values.get("processing_status") in (ProcessingStatus.READY, ProcessingStatus.FAILED):
        emit(f"video.{values['processing_status']}", db.session.get(VideoAsset, asset_id))


def _stage(asset_id: uuid.UUID, stage: Stage, **values: Any) -> None:
    _update(asset_id, processing_stage=stage, progress_pct=STAGE_START[stage], **values)


def claim(asset_id: uuid.UUID) -> bool:
    """Move the row from uploaded/queued to processing; False if another run has it."""
    result = db.session.execute(
        sa.update(VideoAsset)
        .where(
            VideoAsset.id == asset_id,
            VideoAsset.processing_status.in_([ProcessingStatus.UPLOADED, ProcessingStatus.QUEUED]),
        )
        .values(
            processing_status=ProcessingStatus.PROCESSING,
            processing_stage=Stage.PROBING,
            processing_error=None,
            progress_pct=0,
            eta_seconds=None,
            attempts=VideoAsset.attempts + 1,
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    return result.rowcount == 1


def process_video(asset_id: str) -> None:
    """The RQ job: validate, poster, playable-first remux, the ladder; ready or failed."""
    asset_uuid = uuid.UUID(asset_id)
    if not claim(asset_uuid):
        log.info("video %s is not waiting to be processed; nothing to do", asset_id)
        return
    try:
        with tempfile.TemporaryDirectory(prefix="practika-video-") as workdir:
            _process(asset_uuid, Path(workdir))
    except MediaRejected as rejected:
        _update(
            asset_uuid, processing_status=ProcessingStatus.FAILED, processing_error=rejected.reason,
            validation_errors=[rejected.code], is_valid=False, eta_seconds=None,
        )  # fmt: skip
    except Exception as error:
        db.session.rollback()
        _retry_or_give_up(asset_uuid, error)
        raise  # RQ records the job's failure with its traceback


def _retry_or_give_up(asset_id: uuid.UUID, error: Exception) -> None:
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None:
        return
    max_attempts = current_app.config["VIDEO_MAX_ATTEMPTS"]
    log.warning("video %s: attempt %d of %d failed: %r", asset_id, asset.attempts, max_attempts,
                error)  # fmt: skip
    if asset.attempts >= max_attempts:
        _update(
            asset_id, processing_status=ProcessingStatus.FAILED, processing_error=GAVE_UP,
            eta_seconds=None,
        )  # fmt: skip
        return
    _update(asset_id, processing_status=ProcessingStatus.QUEUED, eta_seconds=None)
    delay = RETRY_DELAYS[min(asset.attempts, len(RETRY_DELAYS)) - 1]
    enqueue_processing(asset, delay=delay)


def _process(asset_id: uuid.UUID, workdir: Path) -> None:
    config = current_app.config
    storage = get_storage()
    tools = {"ffmpeg_binary": config["FFMPEG_BINARY"]}
    asset = db.session.get(VideoAsset, asset_id)
    owner_id = asset.owner_id
    source = storage.fetch(asset.storage_path, workdir)
    db.session.close()  # no connection held through the FFmpeg work below

    facts = validate(
        source,
        Limits(
            max_duration=config["VIDEO_MAX_SECONDS"], max_width=config["VIDEO_MAX_SIDE"],
            max_height=config["VIDEO_MAX_SIDE"], max_pixels=config["VIDEO_MAX_PIXELS"],
            max_frame_rate=config["VIDEO_MAX_FPS"],
            max_pixel_rate=config["VIDEO_MAX_PIXEL_RATE"],
        ),
        ffprobe=config["FFPROBE_BINARY"], **tools,
    )  # fmt: skip
    width, height, duration = facts.display_width, facts.display_height, facts.duration
    # The owner's total_video_time grows in the same transaction, once per video: a retried
    # job finds the duration already set and adds nothing.
    first_time = db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset_id, VideoAsset.duration_sec.is_(None))
        .values(duration_sec=duration)
    ).rowcount
    if first_time and owner_id is not None:
        add_video_time(owner_id, duration)
    _stage(asset_id, Stage.POSTER, width=width, height=height)

    poster = make_poster(source, workdir / "poster.jpg", at=min(1.0, duration / 2),
                         duration=duration, **tools)  # fmt: skip
    poster_key = f"videos/{asset_id}/poster.jpg"
    with poster.open("rb") as stream:
        storage.save(poster_key, stream)

    ladder = plan_ladder(width, height)
    renditions: dict[str, dict[str, Any]] = {}
    if playable_by_remux(facts):
        _stage(asset_id, Stage.PLAYABLE, poster_path=poster_key)
        playable = remux_faststart(source, workdir / "playable.mp4", **tools)
        source_bitrate = source.stat().st_size * 8 / duration
        top = reusable_top_rung(facts, ladder, source_bitrate)
        name = top.name if top else PLAYABLE  # the remux is the top rung, or stands in
        entry = _store_rendition(asset_id, name, playable, width, height, duration)
        _stage(asset_id, Stage.RENDITIONS, renditions={name: entry})
        if top:
            renditions[top.name] = entry
            ladder = ladder[:-1]
    else:
        _stage(asset_id, Stage.RENDITIONS, poster_path=poster_key)

    outdir = workdir / "renditions"
    outdir.mkdir()
    if ladder:
        outputs = make_renditions(
            source, facts, ladder, outdir, progress=_progress_writer(asset_id), **tools,
            timeout=config["VIDEO_JOB_TIMEOUT"],
        )  # fmt: skip
        for r in ladder:
            path = outputs[r.name]
            renditions[r.name] = _store_rendition(
                asset_id, r.name, path, r.width, r.height, duration
            )
    _update(
        asset_id, renditions=renditions, processing_status=ProcessingStatus.READY,
        processing_stage=None, progress_pct=100, eta_seconds=None, processed_at=utcnow(),
        is_valid=True, validation_errors=[],
    )  # fmt: skip
    storage.delete(f"videos/{asset_id}/{PLAYABLE}.mp4")  # the ladder replaces it


def _store_rendition(
    asset_id: uuid.UUID, name: str, path: Path, width: int, height: int, duration: float
) -> dict[str, Any]:
    key = f"videos/{asset_id}/{name}.mp4"
    with path.open("rb") as stream:
        size = get_storage().save(key, stream)
    return {
        "path": key, "width": width, "height": height, "size_bytes": size,
        "bitrate": round(size * 8 / duration) if duration else None,
    }  # fmt: skip


def _progress_writer(asset_id: uuid.UUID):
    """FFmpeg's fraction done becomes progress_pct and an ETA on the row (FFmpeg's progress
    reporting already limits this to about once a second)."""
    started = time.monotonic()
    start = STAGE_START[Stage.RENDITIONS]

    def write(fraction: float) -> None:
        elapsed = time.monotonic() - started
        eta = round(elapsed / fraction * (1 - fraction)) if fraction > 0 else None
        _update(asset_id, progress_pct=min(99, start + round((100 - start) * fraction)),
                eta_seconds=eta)  # fmt: skip

    return write


def sweep() -> dict[str, int]:
    """Put right what Redis lost or a killed worker left behind; returns what it did.

    - uploaded/queued rows whose job Redis does not hold are enqueued (again);
    - processing rows not updated for a job timeout are retried, or failed for good after
      the last attempt.
    """
    config = current_app.config
    done = {"enqueued": 0, "requeued": 0, "failed": 0}
    queue = get_queue("media")
    waiting = db.session.scalars(
        sa.select(VideoAsset).where(
            VideoAsset.processing_status.in_([ProcessingStatus.UPLOADED, ProcessingStatus.QUEUED]),
            VideoAsset.video_type == "upload",
        )
    ).all()
    for asset in waiting:
        job = queue.fetch_job(processing_job_id(asset))
        if job is None or job.get_status() in ("finished", "failed", "stopped", "canceled"):
            done["enqueued"] += enqueue_processing(asset)
    stalled_before = utcnow() - timedelta(seconds=config["VIDEO_JOB_TIMEOUT"] + 60)
    stalled = db.session.scalars(
        sa.select(VideoAsset).where(
            VideoAsset.processing_status == ProcessingStatus.PROCESSING,
            VideoAsset.updated_at < stalled_before,
        )
    ).all()
    for asset in stalled:
        if asset.attempts >= config["VIDEO_MAX_ATTEMPTS"]:
            _update(asset.id, processing_status=ProcessingStatus.FAILED, processing_error=GAVE_UP)
            done["failed"] += 1
        else:
            _update(asset.id, processing_status=ProcessingStatus.QUEUED)
            done["requeued"] += enqueue_processing(asset)
    return done


def cut_video_clip(clip_id: str) -> None:
    """The RQ job for a clip: cut it from the best rendition into a small MP4; ready or failed."""
    clip_uuid = uuid.UUID(clip_id)
    claimed = db.session.execute(
        sa.update(VideoClip)
        .where(VideoClip.id == clip_uuid, VideoClip.processing_status == ProcessingStatus.QUEUED)
        .values(processing_status=ProcessingStatus.PROCESSING, updated_at=utcnow())
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return
    clip = db.session.get(VideoClip, clip_uuid)
    storage = get_storage()
    values: dict[str, Any]
    try:
        with tempfile.TemporaryDirectory(prefix="practika-clip-") as workdir:
            source = storage.fetch(clip.original_video.best_rendition()["path"], Path(workdir))
            start, end = clip.start_time, clip.end_time
            db.session.close()
            out = cut_clip(source, start, end, Path(workdir) / "clip.mp4",
                           ffmpeg_binary=current_app.config["FFMPEG_BINARY"])  # fmt: skip
            key = f"clips/{clip_uuid}.mp4"
            with out.open("rb") as stream:
                size = storage.save(key, stream)
        values = {"storage_path": key, "size_bytes": size, "processed_at": utcnow(),
                  "processing_status": ProcessingStatus.READY}  # fmt: skip
    except Exception:
        log.exception("clip %s could not be cut", clip_id)
        db.session.rollback()
        values = {"processing_status": ProcessingStatus.FAILED,
                  "processing_error": "This clip could not be cut. Try again."}  # fmt: skip
    db.session.execute(
        sa.update(VideoClip).where(VideoClip.id == clip_uuid).values(updated_at=utcnow(), **values)
    )
    db.session.commit()
