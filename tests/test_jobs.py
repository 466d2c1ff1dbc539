"""The processing job and the sweep: real FFmpeg, real Redis, a real worker process."""

import io
import time

import pytest
import sqlalchemy as sa

from practika.core.models import PLAYABLE, VideoAsset
from practika.core.services import enqueue_processing, processing_job_id, store_upload
from practika.core.tasks import GAVE_UP, claim, process_video, sweep
from practika.extensions import db
from practika.media.synth import synth_video
from practika.models import utcnow
from practika.queue import connect, get_queue
from practika.storage import get_storage
from tests.conftest import log_in


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
    assert claim(asset_id) is True
    assert claim(asset_id) is False  # the first run holds it


def test_a_transient_fault_is_retried_then_given_up(app, teacher, h264):
    asset = upload(teacher, h264)
    asset_id = asset.id
    get_storage().delete(asset.storage_path)  # storage lost the object: not the file's fault
    with pytest.raises(FileNotFoundError):
        process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "queued"  # a retry is scheduled with a delay
    scheduled = get_queue("media").scheduled_job_registry.get_job_ids()
    assert scheduled == [processing_job_id(asset)]
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
    assert reload(asset.id).processing_status == "uploaded"
    assert sweep()["enqueued"] == 1
    assert get_queue("media").job_ids == [processing_job_id(asset)]
    assert sweep()["enqueued"] == 0  # already queued: not twice


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
    assert sweep() == {"enqueued": 0, "requeued": 1, "failed": 1}
    assert reload(stalled.id).processing_status == "queued"
    assert reload(spent.id).processing_error == GAVE_UP


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
    from practika.accounts.metrics import recompute_metrics
    from practika.accounts.models import UserMetrics

    asset_id = upload(teacher, h264).id
    process_video(str(asset_id))
    db.session.execute(
        sa.update(VideoAsset).where(VideoAsset.id == asset_id).values(processing_status="queued")
    )
    db.session.commit()
    process_video(str(asset_id))  # processed again (a retry, a reprocess): counted once
    assert db.session.scalar(sa.select(UserMetrics.total_video_time)) == 2
    assert recompute_metrics() == []  # the running total and a recount agree
