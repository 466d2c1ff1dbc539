"""media/ (FFmpeg knowledge, no Flask) and the local storage backend."""

import io

import pytest

from practika.core.models import VideoAsset
from practika.core.services import store_upload
from practika.extensions import db
from practika.media.poster import make_poster
from practika.media.probe import probe
from practika.media.run import MediaToolError, run_tool
from practika.media.synth import synth_video
from practika.storage import LocalStorage
from tests.conftest import process_now


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    return synth_video(tmp_path_factory.mktemp("media") / "v.mp4", seconds=2, width=320, height=240)


def test_probe_reads_the_facts_we_store(small_video):
    facts = probe(small_video)
    assert (facts.width, facts.height) == (320, 240)
    assert facts.video_codec == "h264" and facts.audio_codec == "aac"
    assert 1.9 < facts.duration < 2.2
    assert "mp4" in facts.format_name


def test_video_without_audio(tmp_path):
    facts = probe(synth_video(tmp_path / "mute.mp4", seconds=1, audio=False))
    assert facts.audio_codec is None and facts.video_codec == "h264"


def test_poster_is_a_jpeg(small_video, tmp_path):
    poster = make_poster(small_video, tmp_path / "p.jpg", at=0.5)
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"


def test_probe_refuses_a_file_that_is_not_video(tmp_path):
    page = tmp_path / "page.mp4"
    page.write_text("<html>not a video</html>")
    with pytest.raises(MediaToolError) as error:
        probe(page)
    assert "Invalid data" in error.value.stderr


def test_probe_never_follows_a_playlist_to_another_file(tmp_path):
    """An HLS playlist named .mp4 pointing at a local file: only the file protocol is allowed
    for the named input and the playlist's entries are refused."""
    secret = tmp_path / "secret.ts"
    secret.write_bytes(b"\x47" * 188 * 4)
    playlist = tmp_path / "evil.mp4"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/x\n{secret}\n"
    )
    with pytest.raises(MediaToolError):
        probe(playlist)


def test_a_tool_that_runs_too_long_is_stopped():
    with pytest.raises(MediaToolError, match="took longer than 1 s"):
        run_tool(["sleep", "5"], timeout=1)


def test_a_missing_tool_is_reported():
    with pytest.raises(MediaToolError, match="is not installed"):
        run_tool(["/nonexistent/ffmpeg", "-version"], timeout=5)


def test_local_storage_saves_atomically_and_deletes_idempotently(tmp_path):
    storage = LocalStorage(tmp_path)
    assert storage.save("videos/a/original.mp4", io.BytesIO(b"x" * 3000)) == 3000
    assert storage.exists("videos/a/original.mp4")
    assert [p.name for p in (tmp_path / "videos/a").iterdir()] == ["original.mp4"]  # no .part
    storage.delete("videos/a/original.mp4")
    storage.delete("videos/a/original.mp4")
    assert not storage.exists("videos/a/original.mp4")


def test_local_storage_leaves_no_partial_file_when_a_write_fails(tmp_path):
    class Broken(io.RawIOBase):
        def readinto(self, buffer):
            raise OSError("connection reset")

    storage = LocalStorage(tmp_path)
    with pytest.raises(OSError, match="connection reset"):
        storage.save("videos/b/original.mp4", Broken())
    assert list((tmp_path / "videos/b").iterdir()) == []


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/etc/passwd", "videos/../../x", "a//b", "", "a\\b", "a\nb"]
)
def test_local_storage_refuses_keys_that_leave_its_folder(tmp_path, key):
    with pytest.raises(ValueError, match="unsafe storage key"):
        LocalStorage(tmp_path).path(key)


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("VIDEO_MAX_SIDE", 300, "too_large"),
        ("VIDEO_MAX_PIXELS", 320 * 200, "too_large"),
        ("VIDEO_MAX_FPS", 25, "frame_rate"),
        ("VIDEO_MAX_PIXEL_RATE", 320 * 240 * 20, "pixel_rate"),
    ],
)
def test_the_job_holds_videos_to_the_configured_limits(
    app, teacher, small_video, setting, value, code
):
    """A 320x240 video at 30 fps, refused once a setting says it costs too much."""
    app.config[setting] = value
    asset = store_upload(io.BytesIO(small_video.read_bytes()), owner=teacher, filename="v.mp4")
    db.session.commit()
    process_now(asset.id)
    db.session.expire_all()
    refused = db.session.get(VideoAsset, asset.id)
    assert refused.processing_status == "failed" and refused.validation_errors == [code]
