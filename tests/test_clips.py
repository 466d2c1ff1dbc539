"""Clips: validated, deduplicated by their hash, cut by a job into a small MP4 to download."""

import io

import pytest

from practika.core.models import VideoClip
from practika.core.services import ClipError, request_clip, store_upload
from practika.core.tasks import cut_video_clip
from practika.extensions import db
from practika.media.probe import probe
from practika.media.synth import synth_video
from practika.queue import get_queue
from practika.storage import get_storage
from tests.conftest import log_in, process_now


@pytest.fixture
def ready_asset(app, teacher, tmp_path):
    video = synth_video(tmp_path / "model.mp4", seconds=3, width=320, height=240)
    asset = store_upload(io.BytesIO(video.read_bytes()), owner=teacher, filename="model.mp4")
    db.session.commit()
    asset_id = asset.id
    process_now(asset_id)
    return db.session.get(type(asset), asset_id)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [(2, 1, "start before it ends"), (1, 1, "start before it ends"), (-1, 1, "start before"),
     (1, 9, "end within the video (3.0 s)")],
)  # fmt: skip
def test_clips_are_validated(ready_asset, start, end, reason):
    with pytest.raises(ClipError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        request_clip(ready_asset, start, end)


def test_a_video_that_is_not_ready_has_no_clips(app, teacher):
    asset = store_upload(io.BytesIO(b"x"), owner=teacher, filename="x.mp4")
    with pytest.raises(ClipError, match="once the video is ready"):
        request_clip(asset, 0, 1)


def test_the_same_cut_is_one_clip(ready_asset):
    clip, new = request_clip(ready_asset, 0.5, 1.5, title="Entry")
    db.session.commit()
    again, again_new = request_clip(ready_asset, 0.5000001, 1.5)
    assert new and not again_new and again.id == clip.id


def test_the_job_cuts_a_small_mp4_that_can_be_downloaded(ready_asset, client, teacher, student):
    teacher_email, student_email = "tess@example.com", "sam@example.com"  # see conftest
    clip, _ = request_clip(ready_asset, 0.5, 1.5, title="Entry step")
    db.session.commit()
    clip_id = clip.id
    cut_video_clip(str(clip_id))  # closes the session, as jobs do
    clip = db.session.get(VideoClip, clip_id)
    assert clip.processing_status == "ready" and clip.size_bytes > 0
    facts = probe(get_storage().path(clip.storage_path))
    assert 0.9 < facts.duration < 1.2 and facts.video_codec == "h264"
    log_in(client, teacher_email)
    download = client.get(f"/core/clips/{clip_id}.mp4?download=1")
    assert download.status_code == 200
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="Entry_step-0.5-1.5s.mp4"'
    )
    client.post("/accounts/logout")
    log_in(client, student_email)  # not the owner, and no exercise uses the video
    assert client.get(f"/core/clips/{clip_id}.mp4").status_code == 404


def test_a_clip_job_runs_once(ready_asset):
    clip, _ = request_clip(ready_asset, 0, 1)
    db.session.commit()
    clip_id = clip.id
    cut_video_clip(str(clip_id))
    path = db.session.get(VideoClip, clip_id).storage_path
    cut_video_clip(str(clip_id))  # a duplicate delivery finds it done and does nothing
    assert db.session.get(VideoClip, clip_id).storage_path == path
    assert len(get_queue("media")) == 0


def test_the_clip_fragment_polls_until_cut_then_offers_the_download(app, ready_asset, client):
    clip, _ = request_clip(ready_asset, 0, 1, title="Turn")
    db.session.commit()
    clip_id = clip.id
    log_in(client, "tess@example.com")  # the owner (see conftest)
    waiting = client.get(f"/core/clips/{clip_id}/status").get_data(as_text=True)
    assert "Cutting Turn (0.0\u20131.0 s)" in waiting  # an en dash between the times
    assert 'hx-trigger="load delay:1s"' in waiting
    with app.app_context():  # as in the worker: its own context, session and g
        cut_video_clip(str(clip_id))
    db.session.expire_all()  # requests here share the test's session: forget what it read
    ready = client.get(f"/core/clips/{clip_id}/status").get_data(as_text=True)
    assert "hx-trigger" not in ready
    assert f'href="/core/clips/{clip_id}.mp4?download=1"' in ready
