"""The processing job and the sweep: real FFmpeg, real Redis, a real worker process."""

import io
import time

import pytest
import sqlalchemy as sa
from rq import SimpleWorker
from rq.job import JobStatus

from practika.core import tasks
from practika.core.models import PLAYABLE, VideoAsset, VideoClip
from practika.core.services import (
    enqueue_clip,
    enqueue_processing,
    processing_job_id,
    request_clip,
    store_upload,
)
from practika.core.tasks import CLIP_GAVE_UP, GAVE_UP, _update, claim, process_video
from practika.extensions import db
from practika.media.ladder import plan_ladder
from practika.media.synth import synth_video
from practika.model_base import utcnow
from practika.queue import QUEUE_NAMES, connect, get_queue, get_redis
from practika.storage import get_storage
from practika.sweep import sweep
from tests.conftest import log_in, running_worker
from tests.media_samples import recorded
from tests.services import kill_tree, wait_for


@pytest.fixture(scope="module")
def h264(tmp_path_factory):
    return synth_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=2, width=640, height=360)


def upload(owner, path_or_bytes, name="clip.mp4") -> VideoAsset:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    asset = store_upload(io.BytesIO(data), owner=owner, filename=name)
    db.session.commit()
    return asset


def reload(asset_id) -> VideoAsset:
    db.session.expire_all()
    return db.session.get(VideoAsset, asset_id)


def heartbeat_stopped(asset_id) -> None:
    """The video's job stamped its row long ago: the sweep takes its worker for dead."""
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset_id)
        .values(updated_at=utcnow().replace(year=2000))
    )
    db.session.commit()


def test_upload_is_stored_with_its_checksum_and_a_safe_name(app, teacher, h264):
    import hashlib

    asset = upload(teacher, h264, name="../../etc/My\x00 clip?.mp4")
    assert asset.checksum_sha256 == hashlib.sha256(h264.read_bytes()).hexdigest()
    assert asset.size_bytes == h264.stat().st_size
    assert asset.orig_filename == "My clip_.mp4"
    assert asset.storage_path == f"videos/{asset.id}/original"
    assert asset.processing_status == "uploaded"


def test_an_h264_upload_becomes_ready_with_poster_and_renditions(app, teacher, h264):
    asset_id = upload(teacher, h264).id
    process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "ready", asset.processing_error
    assert (asset.width, asset.height) == (640, 360)
    assert 1.9 < asset.duration_sec < 2.2
    assert asset.progress_pct == 100 and asset.processed_at is not None
    assert list(asset.renditions) == ["360p"]  # never upscaled; the playable copy is gone
    rendition = asset.renditions["360p"]
    assert (rendition["width"], rendition["height"]) == (640, 360)
    assert rendition["size_bytes"] > 0 and rendition["bitrate"] > 0
    storage = get_storage()
    assert storage.exists(rendition["path"]) and storage.exists(asset.poster_path)
    assert not storage.exists(f"videos/{asset_id}/{PLAYABLE}.mp4")
    assert asset.attempts == 1


def test_a_file_that_is_not_video_fails_at_once_with_a_reason(app, teacher):
    asset_id = upload(teacher, b"<html><body>hello</body></html>", name="clip.mp4").id
    process_video(str(asset_id))  # no exception: bad media is not retried
    asset = reload(asset_id)
    assert asset.processing_status == "failed"
    assert asset.processing_error.startswith("This file is not a video we can read.")
    assert asset.validation_errors == ["unreadable"] and asset.is_valid is False
    assert asset.attempts == 1


def test_a_second_run_of_the_same_job_does_nothing(app, teacher, h264):
    asset_id = upload(teacher, h264).id
    assert claim(asset_id) == 1  # the first attempt
    assert claim(asset_id) is None  # the first run holds it


def test_a_transient_fault_is_retried_then_given_up(app, teacher, h264):
    asset = upload(teacher, h264)
    asset_id = asset.id
    get_storage().delete(asset.storage_path)  # storage lost the object: not the file's fault
    with pytest.raises(FileNotFoundError):
        process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "queued"  # a retry is scheduled with a delay
    scheduled = get_queue("media").scheduled_job_registry.get_job_ids()
    assert scheduled == [processing_job_id(asset)] == [f"video-{asset_id}-2"]
    for _ in range(2):
        with pytest.raises(FileNotFoundError):
            process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "failed" and asset.attempts == 3
    assert asset.processing_error == GAVE_UP


def test_upload_succeeds_when_redis_is_down_and_the_sweep_enqueues_later(
    app, teacher, h264, monkeypatch
):
    asset = upload(teacher, h264)
    with monkeypatch.context() as down:
        down.setitem(app.extensions, "redis", connect("unix:///nonexistent/redis.sock"))
        assert enqueue_processing(asset) is False
    assert reload(asset.id).processing_status == "queued"  # waiting for a job, kept
    assert sweep()["videos_enqueued"] == 1
    assert get_queue("media").job_ids == [processing_job_id(asset)]
    assert sweep()["videos_enqueued"] == 0  # already queued: not twice


def test_sweep_requeues_a_stalled_job_and_fails_one_out_of_attempts(app, teacher, h264):
    stalled, spent = upload(teacher, h264), upload(teacher, h264)
    long_ago = utcnow().replace(year=2000)
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id.in_([stalled.id, spent.id]))
        .values(processing_status="processing", updated_at=long_ago)
    )
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == spent.id)
        .values(attempts=3, updated_at=long_ago)
    )
    db.session.commit()
    done = sweep()
    assert (done["videos_retried"], done["videos_failed"], done["videos_enqueued"]) == (1, 1, 0)
    assert reload(stalled.id).processing_status == "queued"
    assert get_queue("media").job_ids == [processing_job_id(reload(stalled.id))]
    assert reload(spent.id).processing_error == GAVE_UP


def test_a_run_the_sweep_gave_up_on_cannot_finish_the_video(app, teacher, h264):
    """An old attempt still running somewhere (its heartbeat lost, say) after the sweep
    retried the video: its writes, its "ready" included, change nothing."""
    asset_id = upload(teacher, h264).id
    assert claim(asset_id) == 1
    heartbeat_stopped(asset_id)
    assert sweep()["videos_retried"] == 1
    assert claim(asset_id) == 2  # the retry holds it now
    assert not _update(VideoAsset, asset_id, 1, processing_status="ready", progress_pct=100)
    asset = reload(asset_id)
    assert (asset.processing_status, asset.progress_pct, asset.attempts) == ("processing", 0, 2)


def test_a_retry_waits_its_delay_as_a_job_of_its_own(app, teacher, h264):
    """The failing attempt's job cannot overwrite its scheduled retry, and the sweep sees
    that retry alive instead of queueing the video again at once."""
    asset = upload(teacher, h264)
    get_storage().delete(asset.storage_path)  # a fault that is not the file's
    assert enqueue_processing(asset)
    first = f"video-{asset.id}-1"
    SimpleWorker(["media"], connection=get_redis()).work(burst=True)  # RQ runs it here

    queue = get_queue("media")
    assert queue.fetch_job(first).get_status() == JobStatus.FAILED
    retry = queue.fetch_job(f"video-{asset.id}-2")
    assert retry.get_status() == JobStatus.SCHEDULED
    assert reload(asset.id).job_id == retry.id
    assert sweep()["videos_enqueued"] == 0
    assert queue.job_ids == []  # nothing runs before the 10 s are up


def test_a_worker_killed_mid_job_is_noticed_and_the_video_retried(app, teacher, tmp_path):
    """A worker (and its work horse and FFmpeg) SIGKILLed while processing: the stopped
    heartbeat tells the next worker's sweep, which retries the video to ready."""
    source = synth_video(tmp_path / "long.mp4", seconds=20, width=1280, height=720)
    asset = upload(teacher, source)
    fast = {
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_DEAD_AFTER_SECONDS": "4",
        "SWEEP_INTERVAL_SECONDS": "1",
    }
    with running_worker(app, **fast) as first:
        assert enqueue_processing(asset)
        wait_for(lambda: reload(asset.id).processing_status == "processing", 60, "processing")
        kill_tree(first.pid)
        first.wait()
    assert reload(asset.id).processing_status == "processing"  # left behind
    with running_worker(app, **fast):
        wait_for(lambda: reload(asset.id).status.is_terminal, 120, "a terminal state")
    asset = reload(asset.id)
    assert asset.processing_status == "ready", asset.processing_error
    assert asset.attempts == 2


@pytest.fixture
def ready_video(app, teacher, h264):
    asset_id = upload(teacher, h264).id
    process_video(str(asset_id))
    return reload(asset_id)


def test_a_clip_asked_for_while_redis_is_down_is_cut_when_it_is_back(app, ready_video, monkeypatch):
    clip, _ = request_clip(ready_video, 0.5, 1.5)
    db.session.commit()
    with monkeypatch.context() as down:
        down.setitem(app.extensions, "redis", connect("unix:///nonexistent/redis.sock"))
        assert enqueue_clip(clip) is False
    assert sweep()["clips_enqueued"] == 1
    SimpleWorker(["media"], connection=get_redis()).work(burst=True)
    db.session.expire_all()
    assert db.session.get(VideoClip, clip.id).processing_status == "ready"


def test_a_stuck_clip_is_retried_then_failed_so_its_fragment_stops_polling(
    app, client, teacher, ready_video
):
    clip, _ = request_clip(ready_video, 0.5, 1.5)
    db.session.commit()
    clip_id, long_ago = clip.id, utcnow().replace(year=2000)
    for attempts, outcome in ((1, "clips_retried"), (3, "clips_failed")):
        db.session.execute(
            sa.update(VideoClip)
            .where(VideoClip.id == clip_id)
            .values(processing_status="processing", attempts=attempts, updated_at=long_ago)
        )
        db.session.commit()
        assert sweep()[outcome] == 1
    db.session.expire_all()
    clip = db.session.get(VideoClip, clip_id)
    assert (clip.processing_status, clip.processing_error) == ("failed", CLIP_GAVE_UP)
    log_in(client, "tess@example.com")  # the teacher (the job closed the session)
    fragment = client.get(f"/core/clips/{clip_id}/status").get_data(as_text=True)
    assert CLIP_GAVE_UP in fragment and "hx-trigger" not in fragment


def test_a_real_worker_processes_an_upload_while_the_status_fragment_polls(
    app, client, teacher, h264, worker
):
    asset = upload(teacher, h264)
    assert enqueue_processing(asset)
    log_in(client, teacher.email)
    url = f"/core/videos/{asset.id}/status"
    first = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in first  # it polls while work runs
    deadline = time.monotonic() + 60
    while reload(asset.id).processing_status not in ("ready", "failed"):
        assert time.monotonic() < deadline, "the worker did not finish in a minute"
        time.sleep(0.5)
    assert reload(asset.id).processing_status == "ready"
    last = client.get(url, headers={"HX-Request": "true"})
    html = last.get_data(as_text=True)
    assert last.status_code == 200
    assert "<video" in html and "hx-trigger" not in html  # playable: polling stops


# Phone recordings through the whole job (sample videos from tests/media_samples.py).


def test_a_portrait_phone_video_is_stored_upright(app, teacher, rotated):
    asset_id = upload(teacher, rotated, name="IMG_0042.MOV").id
    process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "ready", asset.processing_error
    assert (asset.width, asset.height) == (240, 320)  # displayed, not stored, dimensions
    assert {(r["width"], r["height"]) for r in asset.renditions.values()} == {(240, 320)}


def test_a_browser_recording_without_a_duration_gets_its_real_one(app, teacher, recorder_webm):
    asset_id = upload(teacher, recorder_webm, name="attempt.webm").id
    process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "ready", asset.processing_error
    assert 1.9 < asset.duration_sec < 2.2
    assert list(asset.renditions) == ["240p"]  # re-encoded to H.264 MP4: WebM is no remux


def test_processing_adds_the_video_to_its_owners_total_once(app, teacher, h264):
    from practika.accounts.models import UserMetrics
    from practika.recount import recompute_metrics

    asset_id = upload(teacher, h264).id
    process_video(str(asset_id))
    db.session.execute(
        sa.update(VideoAsset).where(VideoAsset.id == asset_id).values(processing_status="queued")
    )
    db.session.commit()
    process_video(str(asset_id))  # processed again (a retry, a reprocess): counted once
    assert db.session.scalar(sa.select(UserMetrics.total_video_time)) == 2
    assert recompute_metrics() == []  # the running total and a recount agree


def test_a_recorded_webm_plays_natively_then_everywhere_before_its_ladder(
    app, teacher, tmp_path, monkeypatch
):
    """A browser's WebM cannot be remuxed into an MP4 every browser plays: its stream copy is
    offered at once to the browsers that play WebM, then the smallest rung (kept, at its final
    settings) plays everywhere while the ladder makes the rest; nothing is encoded twice."""
    take = recorded(
        tmp_path / "take.webm",
        "-c:v libvpx -deadline realtime -cpu-used 8 -c:a libopus -f webm -live 1",
        source="-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine -t 2",
    )
    asset_id = upload(teacher, take, name="take.webm").id
    encodes, seen = [], []
    real = tasks.make_renditions

    def watched(source, facts, ladder, workdir, **options):
        asset = reload(asset_id)
        seen.append((asset.native_type, dict(asset.renditions)))
        encodes.append([r.name for r in ladder])
        return real(source, facts, ladder, workdir, **options)

    monkeypatch.setattr(tasks, "make_renditions", watched)
    process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "ready", asset.processing_error
    rungs = [rung.name for rung in plan_ladder(asset.width, asset.height)]
    assert encodes == [rungs[:1], rungs[1:]]
    (native, before_first), (_, before_ladder) = seen
    assert native == 'video/webm; codecs="vp8, opus"' and before_first == {}
    assert list(before_ladder) == rungs[:1]  # plays everywhere from here on
    assert sorted(asset.renditions) == sorted(rungs)
    assert asset.native_path is None and asset.native_type is None
    assert not get_storage().exists(f"videos/{asset_id}/native.webm")  # the ladder replaced it


def test_mail_and_webhooks_are_taken_before_the_videos_queued_ahead_of_them(app):
    """As a worker on every queue dequeues: the first queue in its order that has a job."""
    media, mail = get_queue("media"), get_queue("mail")
    waiting = [media.enqueue("builtins.print", f"video {n}") for n in range(3)]
    reset = mail.enqueue("builtins.print", "password reset")
    worker = SimpleWorker([get_queue(name) for name in QUEUE_NAMES], connection=get_redis())
    job, _ = worker.queue_class.dequeue_any(worker.queues, None, connection=get_redis())
    assert job.id == reset.id
    assert [j.id for j in waiting] == media.job_ids
