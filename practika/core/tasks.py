"""RQ jobs for videos and clips. Each takes an id, reads the row, and always leaves a state.

The row is the truth: a job claims it with a conditional UPDATE that counts the attempt (so
a job that runs twice does the work once), stamps it every JOB_HEARTBEAT_SECONDS while it
works, and ends it in ``ready`` or ``failed``, or back in ``queued`` with the next attempt
enqueued after a pause when the fault was not the file's. Every later write names the
attempt, so a run the sweep has given up on (its worker seemed dead) changes nothing.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from practika.accounts.services.tallies import add_video_time
from practika.comments.alignment import request_waiting_for
from practika.comments.services import announce_attempts
from practika.core import streamed
from practika.core.models import (
    CLAIMABLE,
    PLAYABLE,
    UNFINISHED,
    VOICE,
    ProcessingStatus,
    Stage,
    VideoAsset,
    VideoClip,
    VideoType,
)
from practika.core.services import enqueue_clip, enqueue_processing
from practika.extensions import db
from practika.media.ladder import (
    NATIVE_CONTAINERS,
    NativeCopy,
    Rendition,
    native_copy,
    plan_ladder,
    playable_by_remux,
    reusable_top_rung,
)
from practika.media.poster import make_poster
from practika.media.probe import ProbeResult
from practika.media.rejections import MediaRejected
from practika.media.transcode import (
    cut_clip,
    encode_voice,
    make_renditions,
    remux_faststart,
    remux_native,
)
from practika.media.validate import Limits, validate, validate_sound
from practika.model_base import utcnow
from practika.queue import heartbeat, job_alive, retry_delay
from practika.storage import Storage, get_storage
from practika.webhooks.services import emit

log = logging.getLogger(__name__)
GAVE_UP = "We could not process this video after several tries. Please try again later."
CLIP_GAVE_UP = "This clip could not be cut. Try again."
CLIP_MAX_ATTEMPTS = 3
# A video that ended has no native copy: the row stops naming it, and its file is deleted
# (``_end``).
NO_NATIVE = {"native_path": None, "native_type": None}
NATIVE_FILES = tuple(f"native.{container}" for container in NATIVE_CONTAINERS)
ETA_AFTER_SECONDS = 2.0
# Where each stage starts on the progress bar; the renditions fill the rest.
STAGE_START = {Stage.PROBING: 0, Stage.POSTER: 5, Stage.PLAYABLE: 10, Stage.RENDITIONS: 20}


def _write(
    model: type, row_id: uuid.UUID, attempt: int, *where: sa.ColumnElement[bool], **values: Any
) -> bool:
    """One short transaction on a video's or clip's row (never held open across FFmpeg
    work), made only while attempt ``attempt`` still holds it and ``where`` is true of it;
    whether it was."""
    result = db.session.execute(
        sa.update(model)
        .where(
            model.id == row_id,
            model.processing_status == ProcessingStatus.PROCESSING,
            model.attempts == attempt,
            *where,
        )
        .values(updated_at=utcnow(), **values)
    )
    db.session.commit()
    if result.rowcount != 1:
        return False
    status = values.get("processing_status")
    if model is VideoAsset and status in (ProcessingStatus.READY, ProcessingStatus.FAILED):
        emit(f"video.{status}", db.session.get(VideoAsset, row_id))
    return True


def _update(model: type, row_id: uuid.UUID, attempt: int, **values: Any) -> bool:
    """_write, with a line in the log when the attempt no longer holds the row."""
    if _write(model, row_id, attempt, **values):
        return True
    log.warning(
        "%s %s: attempt %d no longer holds it; write skipped", model.__name__, row_id, attempt
    )
    return False


def _make_playable(asset_id: uuid.UUID, attempt: int, **values: Any) -> bool:
    """Write the video's renditions (with ``values``). The write that finds none there yet
    is the one that makes the video play for the first time: then its attempt, if it was
    sent already, is announced to the teacher and its sound job is asked for (each attempt
    once: services.announce_attempt). That test is in the UPDATE itself, so however often
    the job runs again (a retry, the sweep, a duplicate job) only one write ever passes
    it. An announcement that cannot be made is logged and not retried: the video is fine,
    and a retry of its job would not ask again either (the sweep asks for the alignment)."""
    if not _write(VideoAsset, asset_id, attempt, ~VideoAsset.has_renditions, **values):
        return _update(VideoAsset, asset_id, attempt, **values)
    try:
        announce_attempts(asset_id)  # and lined up; an attempt not sent yet is, on Send
    except Exception:  # the take plays all the same; the sweep lines it up
        db.session.rollback()
        log.exception("video %s plays, but its attempt could not be announced", asset_id)
    db.session.close()  # no connection held through the FFmpeg work that follows
    return True


def _settled(asset_id: uuid.UUID) -> None:
    """A video just ended ready or failed: the takes that waited for it as their model (they
    played while it was processing) are lined up with it now, or start with it when it
    failed. Logged, not retried, when they cannot be asked for: the sweep asks for them."""
    try:
        request_waiting_for(asset_id)
    except Exception:  # the video is what it is all the same
        db.session.rollback()
        log.exception("video %s ended, but the takes waiting for it were not asked", asset_id)


def _stage(asset_id: uuid.UUID, attempt: int, stage: Stage, **values: Any) -> None:
    _update(
        VideoAsset,
        asset_id,
        attempt,
        processing_stage=stage,
        progress_pct=STAGE_START[stage],
        **values,
    )


def _claim(model: type, row_id: uuid.UUID, **values: Any) -> int | None:
    """Move the row from uploaded/queued to processing; the attempt this run is, or None if
    another run has it."""
    result = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.processing_status.in_(CLAIMABLE))
        .values(
            processing_status=ProcessingStatus.PROCESSING,
            processing_error=None,
            attempts=model.attempts + 1,
            updated_at=utcnow(),
            **values,
        )
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.scalar(sa.select(model.attempts).where(model.id == row_id))


def claim(asset_id: uuid.UUID) -> int | None:
    return _claim(
        VideoAsset, asset_id, processing_stage=Stage.PROBING, progress_pct=0, eta_seconds=None
    )


def _beat(engine: sa.Engine, model: type, row_id: uuid.UUID, attempt: int) -> None:
    """The heartbeat: a fresh updated_at on the row, from the job's heartbeat thread (on a
    connection of its own: the job's session belongs to the job's thread)."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(model)
            .where(
                model.id == row_id,
                model.processing_status == ProcessingStatus.PROCESSING,
                model.attempts == attempt,
            )
            .values(updated_at=utcnow())
        )


def _heartbeat(model: type, row_id: uuid.UUID, attempt: int):
    beat = partial(_beat, db.engine, model, row_id, attempt)
    return heartbeat(beat, current_app.config["JOB_HEARTBEAT_SECONDS"])


def process_video(asset_id: str) -> None:
    """The RQ job: validate, poster, what plays first (a remux; or a native copy and the
    smallest rung), the rest of the ladder; ready or failed. A voice comment's sound is
    checked and encoded once instead (``_process_voice``)."""
    asset_uuid = uuid.UUID(asset_id)
    attempt = claim(asset_uuid)
    if attempt is None:
        log.info("video %s is not waiting to be processed; nothing to do", asset_id)
        return
    try:
        with (
            _heartbeat(VideoAsset, asset_uuid, attempt),
            tempfile.TemporaryDirectory(prefix="practika-video-") as workdir,
        ):
            _process(asset_uuid, attempt, Path(workdir))
    except MediaRejected as rejected:
        _end(
            asset_uuid,
            attempt,
            processing_status=ProcessingStatus.FAILED,
            processing_error=rejected.reason,
            validation_errors=[rejected.code],
            is_valid=False,
            eta_seconds=None,
        )
    except Exception as error:
        db.session.rollback()
        log.warning("video %s: attempt %d failed: %r", asset_id, attempt, error)
        _retry_or_give_up(VideoAsset, asset_uuid, attempt, delay=retry_delay(attempt))
        raise  # RQ records the job's failure with its traceback


def _retry_or_give_up(model: type, row_id: uuid.UUID, attempt: int, *, delay: int) -> str | None:
    """After attempt ``attempt`` at a video or clip failed or died: back to queued with the
    next attempt enqueued as a job of its own after ``delay`` seconds, or failed for good
    after the last (a video that already plays is ``"kept"`` ready instead). ``"retried"``,
    ``"failed"`` or ``"kept"``; None if another run holds the row now."""
    video = model is VideoAsset
    extra = {"eta_seconds": None} if video else {}
    if attempt >= (current_app.config["VIDEO_MAX_ATTEMPTS"] if video else CLIP_MAX_ATTEMPTS):
        if video and _keep_what_plays(row_id, attempt):
            return "kept"
        gave_up = (_end if video else partial(_update, model))(
            row_id,
            attempt,
            processing_status=ProcessingStatus.FAILED,
            processing_error=GAVE_UP if video else CLIP_GAVE_UP,
            **extra,
        )
        return "failed" if gave_up else None
    if not _update(model, row_id, attempt, processing_status=ProcessingStatus.QUEUED, **extra):
        return None
    row = db.session.get(model, row_id)
    (enqueue_processing if video else enqueue_clip)(row, delay=delay)
    return "retried"


def _keep_what_plays(asset_id: uuid.UUID, attempt: int) -> bool:
    """After the last attempt failed: a video that already plays (its remux or its smallest
    rung was made before the ladder failed) ends ready with what it has rather than failed,
    so a take that was watched is never taken away. Whether it did."""
    kept = _end(
        asset_id,
        attempt,
        VideoAsset.has_renditions,
        processing_status=ProcessingStatus.READY,
        processing_stage=None,
        progress_pct=100,
        eta_seconds=None,
        processed_at=utcnow(),
    )
    if kept:
        log.warning("video %s: the ladder failed for good; it stays with what plays", asset_id)
    return kept


def _process(asset_id: uuid.UUID, attempt: int, workdir: Path) -> None:
    config = current_app.config
    storage = get_storage()
    tools = {"ffmpeg_binary": config["FFMPEG_BINARY"]}
    asset = db.session.get(VideoAsset, asset_id)
    owner_id, sound_only = asset.owner_id, asset.sound_only
    source = _original(storage, asset, workdir)
    db.session.close()  # no connection held through the FFmpeg work below
    if sound_only:
        _process_voice(asset_id, attempt, source, workdir, owner_id)
        return

    facts = validate(
        source,
        Limits(
            max_duration=config["VIDEO_MAX_SECONDS"],
            max_width=config["VIDEO_MAX_SIDE"],
            max_height=config["VIDEO_MAX_SIDE"],
            max_pixels=config["VIDEO_MAX_PIXELS"],
            max_frame_rate=config["VIDEO_MAX_FPS"],
            max_pixel_rate=config["VIDEO_MAX_PIXEL_RATE"],
        ),
        ffprobe=config["FFPROBE_BINARY"],
        **tools,
    )
    width, height, duration = facts.display_width, facts.display_height, facts.duration
    _record_duration(asset_id, owner_id, duration)
    _stage(asset_id, attempt, Stage.POSTER, width=width, height=height)

    poster = make_poster(
        source, workdir / "poster.jpg", at=min(1.0, duration / 2), duration=duration, **tools
    )
    poster_key = f"videos/{asset_id}/poster.jpg"
    with poster.open("rb") as stream:
        storage.save(poster_key, stream)

    _stage(asset_id, attempt, Stage.PLAYABLE, poster_path=poster_key)
    ladder = plan_ladder(width, height)
    name, entry, kept = _playable_first(asset_id, attempt, source, facts, ladder, workdir)
    _make_playable(
        asset_id,
        attempt,
        renditions={name: entry},
        processing_stage=Stage.RENDITIONS,
        progress_pct=STAGE_START[Stage.RENDITIONS],
        eta_seconds=None,
    )
    renditions = {name: entry} if kept else {}  # what the ready write will hold
    ladder = [rung for rung in ladder if not (kept and rung.name == name)]

    outdir = workdir / "renditions"
    outdir.mkdir()
    if ladder:
        outputs = make_renditions(
            source,
            facts,
            ladder,
            outdir,
            progress=_progress_writer(asset_id, attempt, Stage.RENDITIONS),
            **tools,
            timeout=config["VIDEO_JOB_TIMEOUT"],
        )
        for r in ladder:
            path = outputs[r.name]
            renditions[r.name] = _store_rendition(
                asset_id, r.name, path, r.width, r.height, duration
            )
    # It has played since the playable write: nothing left to announce.
    _ready(asset_id, attempt, renditions, stand_ins=(f"{PLAYABLE}.mp4",))  # the ladder replaces it


def _original(storage: Storage, asset: VideoAsset, workdir: Path) -> Path:
    """The uploaded file, local for FFmpeg. A take sent to the bucket in pieces has none
    until this joins them into it (``streamed.join``); a later run finds it."""
    if not storage.exists(asset.storage_path):
        joined = streamed.join(storage, asset, workdir)
        if joined is not None:
            return joined
    return storage.fetch(asset.storage_path, workdir)


def _record_duration(asset_id: uuid.UUID, owner_id: int | None, duration: float) -> None:
    """The validated duration on the row. The owner's total_video_time grows in the same
    transaction, once per video: a retried job finds the duration already set and adds
    nothing."""
    first_time = db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset_id, VideoAsset.duration_sec.is_(None))
        .values(duration_sec=duration)
    ).rowcount
    if first_time and owner_id is not None:
        add_video_time(owner_id, duration)


def _process_voice(
    asset_id: uuid.UUID, attempt: int, source: Path, workdir: Path, owner_id: int | None
) -> None:
    """A voice comment: checked as sound (``validate_sound``), then its one .m4a, and ready.
    No poster and no ladder: the bar goes from checking to making it playable, to the end."""
    config = current_app.config
    tools = {"ffmpeg_binary": config["FFMPEG_BINARY"]}
    facts = validate_sound(
        source, config["VOICE_MAX_SECONDS"], ffprobe=config["FFPROBE_BINARY"], **tools
    )
    _record_duration(asset_id, owner_id, facts.duration)
    _stage(asset_id, attempt, Stage.PLAYABLE)
    voice = encode_voice(
        source,
        facts,
        workdir / f"{VOICE}.m4a",
        progress=_progress_writer(asset_id, attempt, Stage.PLAYABLE, end=100),
        timeout=config["VIDEO_JOB_TIMEOUT"],
        **tools,
    )
    key = f"videos/{asset_id}/{voice.name}"
    with voice.open("rb") as stream:
        size = get_storage().save(key, stream)
    bitrate = round(size * 8 / facts.duration) if facts.duration else None
    _ready(asset_id, attempt, {VOICE: {"path": key, "size_bytes": size, "bitrate": bitrate}})


def _ready(asset_id: uuid.UUID, attempt: int, renditions: dict[str, Any], **options: Any) -> bool:
    """End the video ready with ``renditions``, checked and valid (``_end``'s options)."""
    return _end(
        asset_id,
        attempt,
        renditions=renditions,
        processing_status=ProcessingStatus.READY,
        processing_stage=None,
        progress_pct=100,
        eta_seconds=None,
        processed_at=utcnow(),
        is_valid=True,
        validation_errors=[],
        **options,
    )


def _end(
    asset_id: uuid.UUID,
    attempt: int,
    *where: sa.ColumnElement[bool],
    stand_ins: tuple[str, ...] = (),
    **values: Any,
) -> bool:
    """The write that ends a video (ready, kept, failed or refused), as ``_write``: the row
    stops naming its native copy, and once the write is made the copy's file and the other
    ``stand_ins`` are deleted (a superseded run leaves the files to the run that holds the
    row). Whether it was made. Then the takes that waited for it as their model are asked
    for (``_settled``)."""
    if not _write(VideoAsset, asset_id, attempt, *where, **NO_NATIVE, **values):
        if not where:  # with a condition, not holding it may only mean the condition is false
            log.warning("video %s: attempt %d no longer holds it; end skipped", asset_id, attempt)
        return False
    storage = get_storage()
    for name in (*stand_ins, *NATIVE_FILES):
        storage.delete(f"videos/{asset_id}/{name}")
    _settled(asset_id)
    return True


def _playable_first(
    asset_id: uuid.UUID,
    attempt: int,
    source: Path,
    facts: ProbeResult,
    ladder: list[Rendition],
    workdir: Path,
) -> tuple[str, dict[str, Any], bool]:
    """The quickest file every browser plays, stored: the renditions entry's name, the entry,
    and whether it is kept as that rung of ``ladder`` (else a stand-in the ladder replaces).

    - H.264 that browsers play is remuxed in a second: the top rung itself when it is that
      already, else a stand-in.
    - Anything else is first copied as it is for the browsers that play it (``native_copy``),
      then its smallest rung is encoded at its final settings: it plays everywhere seconds
      after the upload and is kept, so the ladder encodes nothing twice.
    """
    config = current_app.config
    tools = {"ffmpeg_binary": config["FFMPEG_BINARY"]}
    duration = facts.duration
    if playable_by_remux(facts):
        playable = remux_faststart(source, workdir / "playable.mp4", duration=duration, **tools)
        top = reusable_top_rung(facts, ladder, source.stat().st_size * 8 / duration)
        name = top.name if top else PLAYABLE
        width, height = facts.display_width, facts.display_height
        return name, _store_rendition(asset_id, name, playable, width, height, duration), bool(top)
    native = native_copy(facts)
    if native:
        _store_native(asset_id, attempt, source, workdir, native, duration, tools)
    first = ladder[0]
    made = make_renditions(
        source,
        facts,
        [first],
        workdir,
        progress=_progress_writer(asset_id, attempt, Stage.PLAYABLE),
        **tools,
        timeout=config["VIDEO_JOB_TIMEOUT"],
    )
    entry = _store_rendition(
        asset_id, first.name, made[first.name], first.width, first.height, duration
    )
    return first.name, entry, True


def _store_native(
    asset_id: uuid.UUID,
    attempt: int,
    source: Path,
    workdir: Path,
    native: NativeCopy,
    duration: float,
    tools: dict[str, str],
) -> None:
    """The native copy, stored and named on the row: from now on the browsers that play it
    show the video (a stream copy takes a fraction of a second). Only a head start: when it
    cannot be made, that is logged and the smallest rung is made as without it."""
    try:
        path = remux_native(
            source, workdir / f"native.{native.container}", native, duration=duration, **tools
        )
        key = f"videos/{asset_id}/{path.name}"
        with path.open("rb") as stream:
            get_storage().save(key, stream)
    except Exception:
        log.exception("video %s: no native copy; the smallest rung plays first", asset_id)
        return
    _update(VideoAsset, asset_id, attempt, native_path=key, native_type=native.mime)


def _store_rendition(
    asset_id: uuid.UUID, name: str, path: Path, width: int, height: int, duration: float
) -> dict[str, Any]:
    key = f"videos/{asset_id}/{name}.mp4"
    with path.open("rb") as stream:
        size = get_storage().save(key, stream)
    return {
        "path": key,
        "width": width,
        "height": height,
        "size_bytes": size,
        "bitrate": round(size * 8 / duration) if duration else None,
    }


def _progress_writer(asset_id: uuid.UUID, attempt: int, stage: Stage, end: int | None = None):
    """FFmpeg's fraction done of ``stage`` becomes progress_pct (within the stage's share of
    the bar, or up to ``end``) and the stage's ETA on the row: the time to playable while the
    smallest rung is made, then the time to ready. FFmpeg's progress reporting already
    limits this to about once a second."""
    started = time.monotonic()
    start = STAGE_START[stage]
    if end is None:
        end = STAGE_START[Stage.RENDITIONS] if stage == Stage.PLAYABLE else 100

    def write(fraction: float) -> None:
        elapsed = time.monotonic() - started
        # FFmpeg's first second is mostly starting up: an ETA from it said two minutes for
        # what took ten seconds. None until the work has had ETA_AFTER_SECONDS to settle.
        settled = fraction > 0 and elapsed >= ETA_AFTER_SECONDS
        eta = round(elapsed / fraction * (1 - fraction)) if settled else None
        _update(
            VideoAsset,
            asset_id,
            attempt,
            eta_seconds=eta,
            progress_pct=min(99, start + round((end - start) * fraction)),
        )

    return write


def sweep() -> dict[str, int]:
    """Put right what Redis lost or a dead worker left, for videos and clips; what it did.

    - uploaded/queued rows whose job Redis does not hold (or holds as failed) are enqueued;
    - processing rows whose heartbeat stopped JOB_DEAD_AFTER_SECONDS ago, or whose job is
      over or gone, are retried at once (that long has passed already), or failed for good
      after the last attempt, so their page stops waiting.
    """
    return {
        **_sweep("videos", VideoAsset, enqueue_processing),
        **_sweep("clips", VideoClip, enqueue_clip),
    }


def _sweep(name: str, model: type, enqueue_row) -> dict[str, int]:
    outcomes = ("enqueued", "retried", "failed", *(("kept",) if model is VideoAsset else ()))
    done = {f"{name}_{outcome}": 0 for outcome in outcomes}
    uploads = model.video_type == VideoType.UPLOAD if model is VideoAsset else sa.true()
    dead_before = utcnow() - timedelta(seconds=current_app.config["JOB_DEAD_AFTER_SECONDS"])
    rows = db.session.scalars(
        sa.select(model).where(model.processing_status.in_(UNFINISHED), uploads)
    ).all()
    for row in rows:
        try:
            alive = job_alive("media", row.job_id)
        except RedisError:
            break  # Redis is away: the next sweep
        if row.processing_status != ProcessingStatus.PROCESSING:
            if not alive:
                done[f"{name}_enqueued"] += enqueue_row(row)
        elif row.updated_at < dead_before or not alive:
            log.warning(
                "%s %s: attempt %d died (heartbeat %s)",
                model.__name__,
                row.id,
                row.attempts,
                row.updated_at,
            )
            outcome = _retry_or_give_up(model, row.id, row.attempts, delay=0)
            if outcome:
                done[f"{name}_{outcome}"] += 1
    return done


def cut_video_clip(clip_id: str) -> None:
    """The RQ job for a clip: cut it from the best rendition into a small MP4; ready, or
    retried and then failed (so its fragment stops polling)."""
    clip_uuid = uuid.UUID(clip_id)
    attempt = _claim(VideoClip, clip_uuid)
    if attempt is None:
        return
    clip = db.session.get(VideoClip, clip_uuid)
    storage = get_storage()
    try:
        with (
            _heartbeat(VideoClip, clip_uuid, attempt),
            tempfile.TemporaryDirectory(prefix="practika-clip-") as workdir,
        ):
            source = storage.fetch(clip.original_video.best_rendition()["path"], Path(workdir))
            start, end = clip.start_time, clip.end_time
            db.session.close()
            out = cut_clip(
                source,
                start,
                end,
                Path(workdir) / "clip.mp4",
                ffmpeg_binary=current_app.config["FFMPEG_BINARY"],
            )
            key = f"clips/{clip_uuid}.mp4"
            with out.open("rb") as stream:
                size = storage.save(key, stream)
    except Exception as error:
        db.session.rollback()
        log.warning("clip %s: attempt %d failed: %r", clip_id, attempt, error)
        _retry_or_give_up(VideoClip, clip_uuid, attempt, delay=retry_delay(attempt))
        raise  # RQ records the job's failure with its traceback
    _update(
        VideoClip,
        clip_uuid,
        attempt,
        storage_path=key,
        size_bytes=size,
        processed_at=utcnow(),
        processing_status=ProcessingStatus.READY,
    )
