"""``flask admin`` video commands, with a real worker and real FFmpeg."""

import sqlalchemy as sa

from practika.core.models import VideoAsset
from practika.extensions import db
from practika.media.synth import synth_video
from practika.queue import get_queue


def test_import_video_waits_and_reports_each_file(runner, teacher, worker, tmp_path):
    good = synth_video(tmp_path / "scales.mov", seconds=2, width=640, height=360)
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    result = runner.invoke(
        args=[
            "admin",
            "import-video",
            str(good),
            str(bad),
            "--owner",
            "TESS@example.com",
            "--wait",
            "--timeout",
            "120",
        ],
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    good_report = [line for line in lines if line.startswith(f"{good}:")][-1]
    bad_report = [line for line in lines if line.startswith(f"{bad}:")][-1]
    assert " ready: 2.0 s, 640x360, 360p 640x360 " in good_report
    assert " failed: This file is not a video we can read." in bad_report
    assert "1 of 2 videos did not become ready" in result.output
    owners = set(db.session.scalars(sa.select(VideoAsset.owner_id)))
    assert owners == {teacher.id}


def test_import_video_without_wait_only_queues(runner, teacher, tmp_path):
    video = synth_video(tmp_path / "a.mp4", seconds=1, width=320, height=240)
    result = runner.invoke(args=["admin", "import-video", str(video), "--owner", teacher.email])
    assert result.exit_code == 0, result.output
    assert "queued" in result.output
    assert len(get_queue("media")) == 1


def test_import_video_errors(runner, teacher, tmp_path):
    missing = runner.invoke(
        args=["admin", "import-video", "/no/such.mp4", "--owner", teacher.email]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    nobody = runner.invoke(args=["admin", "import-video", str(video), "--owner", "no@example.com"])
    assert nobody.exit_code == 1 and "no user with email no@example.com" in nobody.output


def test_reprocess_failed_and_sweep_and_queue(runner, teacher):
    failed = VideoAsset(
        owner=teacher,
        storage_path="videos/x/original",
        processing_status="failed",
        processing_error="Gave up.",
        attempts=3,
    )
    db.session.add(failed)
    db.session.commit()
    result = runner.invoke(args=["admin", "reprocess", "--failed"])
    assert result.exit_code == 0 and "1 video(s) to process again." in result.output
    db.session.expire_all()
    assert failed.processing_status == "queued" and failed.attempts == 0
    assert runner.invoke(args=["admin", "reprocess"]).exit_code == 2
    assert "enqueued: 0" in runner.invoke(args=["admin", "sweep"]).output
    queue = runner.invoke(args=["admin", "queue"]).output
    assert "workers: 0" in queue and "media: 1 waiting" in queue
