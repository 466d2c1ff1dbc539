"""The media pipeline on real FFmpeg: validation, the ladder, transcoding, progress, hostile files.

Every input is generated here with FFmpeg, small and short, once per session.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from practika.media.ladder import Rendition, plan_ladder, playable_by_remux
from practika.media.poster import make_poster
from practika.media.probe import TAIL_SECONDS, measure, probe
from practika.media.rejections import MediaRejected, spoken_duration
from practika.media.run import MediaToolError, run_with_progress
from practika.media.synth import synth_video
from practika.media.transcode import cut_clip, make_renditions, remux_faststart
from practika.media.validate import Limits, validate
from tests.media_samples import GPS, ffmpeg, mp4_boxes, phone_video

ENDLESS = ["ffmpeg", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10"]


def ffprobe_output(command: str, path: Path) -> str:
    """What ``ffprobe -v error`` and ``command`` print about ``path``."""
    args = ["ffprobe", "-v", "error", *command.split(), str(path)]
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout


def ffprobe(path: Path) -> dict:
    return json.loads(ffprobe_output("-print_format json -show_format -show_streams", path))


def video_stream(path: Path) -> dict:
    return next(s for s in ffprobe(path)["streams"] if s["codec_type"] == "video")


def top_level_boxes(path: Path) -> list[str]:
    """The MP4 boxes at the top of the file, in order (``moov`` before ``mdat`` = faststart)."""
    return [kind for kind, _ in mp4_boxes(path.read_bytes())]


def ffmpeg_children(parent: int) -> list[int]:
    """Live (not zombie) ffmpeg processes whose parent is ``parent``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _state(int(entry.name)) not in (None, "Z", "X"):
            stat = (entry / "stat").read_text(errors="replace")
            fields = stat[stat.rindex(")") + 2 :].split()
            if (
                stat[stat.index("(") + 1 : stat.rindex(")")] == "ffmpeg"
                and int(fields[1]) == parent
            ):
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z", "X")


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def gray_frame(path: Path, width: int, height: int) -> list[bytes]:
    """The first frame as rows of 8-bit luma."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            *"-frames:v 1 -f rawvideo -pix_fmt gray -".split(),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    return [raw[row * width : (row + 1) * width] for row in range(height)]


def mean(rows: list[bytes]) -> float:
    return sum(sum(row) for row in rows) / sum(len(row) for row in rows)


# --- ladder decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "sizes"),
    [
        (1920, 1080, [(640, 360), (1280, 720), (1920, 1080)]),
        (1280, 720, [(640, 360), (1280, 720)]),
        (1080, 1920, [(360, 640), (720, 1280), (1080, 1920)]),
        (3840, 2160, [(640, 360), (1280, 720), (1920, 1080)]),
        (2160, 3840, [(360, 640), (720, 1280), (1080, 1920)]),
        (960, 540, [(640, 360)]),
        (320, 240, [(320, 240)]),
        (321, 241, [(320, 240)]),
        (241, 321, [(240, 320)]),
        (1921, 1081, [(640, 360), (1280, 720), (1920, 1080)]),
        (1440, 1080, [(480, 360), (960, 720), (1440, 1080)]),
        (1080, 1080, [(360, 360), (720, 720), (1080, 1080)]),
    ],
)
def test_ladder_scales_by_the_short_side_never_up_and_to_even_sizes(width, height, sizes):
    ladder = plan_ladder(width, height)
    assert [(r.width, r.height) for r in ladder] == sizes
    for rendition in ladder:
        assert rendition.width % 2 == 0 and rendition.height % 2 == 0
        assert rendition.width <= width and rendition.height <= height


def test_ladder_bitrates_grow_with_the_picture():
    assert [r.name for r in plan_ladder(1920, 1080)] == ["360p", "720p", "1080p"]
    rates = [r.video_bitrate for r in plan_ladder(1920, 1080)]
    assert rates == sorted(rates) and len(set(rates)) == 3
    tiny = plan_ladder(320, 240)[0]
    assert 0 < tiny.video_bitrate < rates[0]


def test_ladder_refuses_a_source_without_a_picture():
    with pytest.raises(ValueError, match="no picture"):
        plan_ladder(0, 0)


def test_only_browser_ready_h264_aac_mp4_is_made_playable_by_remux(small, mute, recorder_webm, odd):
    assert playable_by_remux(validate(small))
    assert playable_by_remux(validate(mute))
    assert not playable_by_remux(validate(recorder_webm))  # VP8 in WebM
    assert not playable_by_remux(validate(odd))  # 4:4:4, which browsers do not decode


def test_hevc_10_bit_is_not_remuxed_but_transcoded(hevc_hdr):
    facts = validate(hevc_hdr)
    assert (facts.video_codec, facts.pix_fmt, facts.is_hdr) == ("hevc", "yuv420p10le", True)
    assert not playable_by_remux(facts)


# --- validation ----------------------------------------------------------------------------


def test_a_real_h264_mp4_is_accepted_with_its_facts(small):
    facts = validate(small)
    assert (facts.video_codec, facts.audio_codec) == ("h264", "aac")
    assert (facts.display_width, facts.display_height) == (320, 240)
    assert facts.duration == pytest.approx(2.0, abs=0.1)


def test_a_portrait_phone_video_reports_its_displayed_size(rotated):
    facts = validate(rotated)
    assert (facts.width, facts.height) == (320, 240)  # stored
    assert facts.rotation in (90, 270)
    assert (facts.display_width, facts.display_height) == (240, 320)


def test_a_recorder_webm_without_a_duration_gets_its_real_one(recorder_webm):
    assert probe(recorder_webm).duration is None  # the header really lacks it
    facts = validate(recorder_webm)
    assert (facts.video_codec, facts.audio_codec) == ("vp8", "opus")
    assert facts.duration == pytest.approx(2.0, abs=0.1)


def test_a_recorder_fragmented_mp4_is_accepted_and_made_playable_by_remux(recorder_mp4, tmp_path):
    facts = validate(recorder_mp4)
    assert (facts.video_codec, facts.audio_codec) == ("h264", "aac")
    assert facts.duration == pytest.approx(2.0, abs=0.1)
    assert playable_by_remux(facts)  # playable about a second after the upload
    out = remux_faststart(recorder_mp4, tmp_path / "playable.mp4")
    assert validate(out).duration == pytest.approx(2.0, abs=0.1)


def test_video_without_audio_odd_sizes_and_variable_frame_rate_are_accepted(mute, odd, vfr):
    assert validate(mute).audio_codec is None
    assert (validate(odd).display_width, validate(odd).display_height) == (321, 241)
    assert validate(vfr).duration == pytest.approx(2.0, abs=0.1)


def test_a_video_longer_than_the_limit_is_refused_before_it_is_read(media):
    long_video = media / "long.mp4"
    ffmpeg(
        *"-f lavfi -i color=c=black:s=16x16:r=1 -t 601 -c:v libx264 -preset ultrafast".split(),
        str(long_video),
    )
    with pytest.raises(MediaRejected, match=r"^This video is longer than 10 minutes\.$"):
        validate(long_video)


@pytest.mark.parametrize(
    ("limits", "code", "message"),
    [
        (Limits(max_duration=1), "too_long", "longer than 1 second"),
        (Limits(max_width=300), "too_large", r"picture \(320x240\) is larger"),
        (Limits(max_height=200), "too_large", "is larger than we accept"),
        (Limits(max_pixels=320 * 239), "too_large", "is larger than we accept"),
    ],
)
def test_limits_refuse_absurd_sizes_and_durations(small, limits, code, message):
    with pytest.raises(MediaRejected, match=message) as refused:
        validate(small, limits)
    assert refused.value.code == code


def test_limits_apply_to_the_displayed_size(rotated):
    with pytest.raises(MediaRejected, match=r"\(240x320\)"):
        validate(rotated, Limits(max_height=300))


def test_limits_read_as_people_speak():
    assert spoken_duration(600) == "10 minutes"
    assert spoken_duration(60) == "1 minute"
    assert spoken_duration(90) == "90 seconds"


@pytest.fixture(scope="session")
def listener():
    """A TCP port that records whether anything connected to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        yield server


def assert_never_contacted(listener):
    with pytest.raises(BlockingIOError):
        listener.accept()


@pytest.fixture(scope="session")
def bait(media) -> Path:
    """A FIFO beside the playlists: opening it for reading blocks, so a tool that follows a
    reference to it hangs until its timeout instead of failing fast. (Named relatively: the
    concat demuxer's own ``safe`` mode already refuses absolute paths.)"""
    path = media / "secret.ts"
    os.mkfifo(path)
    return path


@pytest.fixture(scope="session")
def hostile(media, small, listener, bait) -> dict[str, Path]:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.ts"
    files = {
        "html": "<!doctype html><html><body>not a video</body></html>",
        "text": "just some words in a file someone named .mp4\n" * 20,
        "hls_local": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{bait.name}\n#EXT-X-ENDLIST\n",
        "hls_url": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{url}\n"
        "#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n",
        "ffconcat_local": f"ffconcat version 1.0\nfile '{bait.name}'\n",
        "ffconcat_url": f"ffconcat version 1.0\nfile '{url}'\nfile 'http://127.0.0.1:9/x.ts'\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = media / f"{name}.mp4"
        paths[name].write_text(text)
    paths["png"] = media / "png.mp4"
    ffmpeg(
        *"-f lavfi -i testsrc2=size=64x64 -frames:v 1 -f image2 -c:v png".split(),
        str(paths["png"]),
    )
    paths["audio_only"] = media / "audio_only.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac", str(paths["audio_only"]))
    paths["mjpeg"] = media / "mjpeg.mov"
    ffmpeg(
        *"-f lavfi -i testsrc2=size=64x64 -t 0.2 -c:v mjpeg".split(),
        str(paths["mjpeg"]),
    )
    paths["empty"] = media / "empty.mp4"
    paths["empty"].touch()
    data = small.read_bytes()  # faststart: the index is whole, the media is cut off
    paths["truncated_faststart"] = media / "truncated_faststart.mp4"
    paths["truncated_faststart"].write_bytes(data[: len(data) // 2])
    data = Path(synth_video(media / "moov_last.mp4", seconds=1, width=64, height=64)).read_bytes()
    paths["truncated"] = media / "truncated.mp4"  # remux puts moov last; cutting loses it
    paths["truncated"].write_bytes(_moov_last(data)[: len(data) // 2])
    return paths


def _moov_last(data: bytes) -> bytes:
    """Move the top-level ``moov`` box to the end (undo faststart; offsets are not fixed,
    which does not matter once the file is cut before it)."""
    position, boxes = 0, []
    while position + 8 <= len(data):
        size = struct.unpack(">I", data[position : position + 4])[0]
        boxes.append(data[position : position + size])
        position += size
    return b"".join(sorted(boxes, key=lambda box: box[4:8] == b"moov"))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("html", "unreadable"),
        ("text", "unreadable"),
        ("png", "unreadable"),
        ("hls_local", "unreadable"),
        ("hls_url", "unreadable"),
        ("ffconcat_local", "unreadable"),
        ("ffconcat_url", "unreadable"),
        ("empty", "empty"),
        ("truncated", "unreadable"),
        ("truncated_faststart", "damaged"),
        ("audio_only", "no_video"),
        ("mjpeg", "video_codec"),
    ],
)
def test_hostile_and_broken_files_are_refused_with_a_reason(hostile, listener, name, code):
    with pytest.raises(MediaRejected) as refused:
        validate(hostile[name], timeout=5)
    assert refused.value.code == code
    assert refused.value.reason.startswith("This ")
    assert_never_contacted(listener)


def test_the_reasons_people_see(hostile):
    with pytest.raises(MediaRejected, match=r"^This file has no video track\.$"):
        validate(hostile["audio_only"])
    with pytest.raises(MediaRejected, match=r"^This file is not a video we can read\."):
        validate(hostile["html"])
    with pytest.raises(MediaRejected, match=r"^This file is empty\."):
        validate(hostile["empty"])


@pytest.mark.parametrize("name", ["hls_local", "hls_url", "ffconcat_local", "ffconcat_url"])
def test_no_tool_follows_a_playlist_named_mp4(hostile, listener, media, name):
    """Defence in depth: every command opens inputs with the same restrictions, so even a
    caller that skipped validation cannot make FFmpeg read a file or a URL."""
    with pytest.raises(MediaToolError, match="exited"):
        remux_faststart(hostile[name], media / f"{name}-remux.mp4", timeout=5)
    with pytest.raises(MediaToolError, match="exited"):
        make_poster(hostile[name], media / f"{name}.jpg", timeout=5)
    with pytest.raises(MediaToolError, match="exited"):
        cut_clip(hostile[name], 0, 1, media / f"{name}-clip.mp4", timeout=5)
    assert_never_contacted(listener)
    assert not (media / f"{name}-remux.mp4").exists()


# --- transcoding ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def hd_ladder(hd_with_gps, tmp_path_factory):
    facts = validate(hd_with_gps)
    calls: list[float] = []
    outputs = make_renditions(
        hd_with_gps,
        facts,
        plan_ladder(facts.display_width, facts.display_height),
        tmp_path_factory.mktemp("ladder"),
        progress=calls.append,
    )
    return outputs, calls


def test_one_run_makes_every_rung_as_browser_ready_h264(hd_ladder):
    outputs, _ = hd_ladder
    assert sorted(outputs) == ["360p", "720p"]
    sizes = {"360p": (640, 360), "720p": (1280, 720)}
    for name, path in outputs.items():
        info = ffprobe(path)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
        assert (video["width"], video["height"]) == sizes[name]
        assert [a["codec_name"] for a in audio] == ["aac"]
        assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.1)


def test_renditions_start_with_their_index_and_carry_no_location(hd_with_gps, hd_ladder):
    outputs, _ = hd_ladder
    source_boxes = top_level_boxes(hd_with_gps)
    assert source_boxes.index("mdat") < source_boxes.index("moov")  # the check can fail
    assert GPS in json.dumps(ffprobe(hd_with_gps))
    for path in outputs.values():
        boxes = top_level_boxes(path)
        assert boxes.index("moov") < boxes.index("mdat")
        assert GPS not in json.dumps(ffprobe(path))
        assert b"48.8583" not in path.read_bytes()


def test_ladder_progress_rises_and_ends_at_one(hd_ladder):
    _, calls = hd_ladder
    assert calls and calls[-1] == 1.0
    assert calls == sorted(calls) and len(set(calls)) == len(calls)


@pytest.mark.parametrize("name", ["rotated", "recorder_webm", "mute", "odd", "vfr", "hevc_hdr"])
def test_every_phone_recording_becomes_a_browser_ready_rendition(request, tmp_path, name):
    source = request.getfixturevalue(name)
    facts = validate(source)
    (rendition,) = plan_ladder(facts.display_width, facts.display_height)
    output = make_renditions(source, facts, [rendition], tmp_path)[rendition.name]
    info = ffprobe(output)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert video["profile"] in ("High", "Main", "Constrained Baseline")  # not High 10/4:4:4
    assert (video["width"], video["height"]) == (rendition.width, rendition.height)
    assert video["width"] % 2 == 0 and video["height"] % 2 == 0
    assert "side_data_list" not in video  # no rotation left for a player to apply twice
    has_audio = any(s["codec_type"] == "audio" for s in info["streams"])
    assert has_audio == (facts.audio_codec is not None)
    assert float(info["format"]["duration"]) == pytest.approx(facts.duration, abs=0.15)


def test_a_portrait_recording_comes_out_upright(rotated, tmp_path):
    """The white half of the stored frame is its top; shown rotated it is a side. Scaling the
    stored frame to portrait without turning it would leave the white on top."""
    facts = validate(rotated)
    (rendition,) = plan_ladder(facts.display_width, facts.display_height)
    output = make_renditions(rotated, facts, [rendition], tmp_path)[rendition.name]
    rows = gray_frame(output, 240, 320)
    left = [row[:120] for row in rows]
    right = [row[120:] for row in rows]
    assert abs(mean(left) - mean(right)) > 150
    assert abs(mean(rows[:160]) - mean(rows[160:])) < 20


def test_hdr_comes_out_tagged_as_ordinary_bt709(hevc_hdr, tmp_path):
    facts = validate(hevc_hdr)
    (rendition,) = plan_ladder(facts.display_width, facts.display_height)
    video = video_stream(make_renditions(hevc_hdr, facts, [rendition], tmp_path)["240p"])
    assert video["profile"] == "High"
    assert (video["color_space"], video["color_transfer"], video["color_primaries"]) == (
        "bt709",
        "bt709",
        "bt709",
    )


def test_variable_frame_rate_keeps_every_frame_and_no_more(vfr, tmp_path):
    facts = validate(vfr)
    (rendition,) = plan_ladder(facts.display_width, facts.display_height)
    output = make_renditions(vfr, facts, [rendition], tmp_path)[rendition.name]
    assert int(video_stream(output)["nb_frames"]) == int(video_stream(vfr)["nb_frames"]) == 45


def test_remux_is_a_fast_stream_copy_with_faststart_and_no_location(hd_with_gps, tmp_path):
    started = time.monotonic()
    output = remux_faststart(hd_with_gps, tmp_path / "playable.mp4")
    assert time.monotonic() - started < 2
    packets = [_video_packet_sizes(path) for path in (hd_with_gps, output)]
    assert packets[0] == packets[1] and len(packets[0]) == 60
    boxes = top_level_boxes(output)
    assert boxes.index("moov") < boxes.index("mdat")
    assert GPS not in json.dumps(ffprobe(output))


def test_remux_keeps_the_rotation_browsers_apply(rotated, tmp_path):
    facts = validate(remux_faststart(rotated, tmp_path / "playable.mp4"))
    assert (facts.display_width, facts.display_height) == (240, 320)


def _video_packet_sizes(path: Path) -> list[str]:
    return ffprobe_output("-select_streams v:0 -show_entries packet=size -of csv=p=0", path).split()


def test_a_failed_ladder_leaves_no_partial_output(small, tmp_path):
    facts = validate(small)
    with pytest.raises(MediaToolError, match="took longer"):
        make_renditions(small, facts, [Rendition("240p", 320, 240, 1, 1)], tmp_path, timeout=0.01)
    assert list(tmp_path.iterdir()) == []


def test_clip_is_a_short_faststart_mp4_cut_where_asked(small, tmp_path):
    clip = cut_clip(small, 0.5, 1.5, tmp_path / "clip.mp4")
    info = ffprobe(clip)
    assert float(info["format"]["duration"]) == pytest.approx(1.0, abs=0.1)
    assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}
    boxes = top_level_boxes(clip)
    assert boxes.index("moov") < boxes.index("mdat")
    with pytest.raises(ValueError, match="start < end"):
        cut_clip(small, 1.5, 0.5, tmp_path / "backwards.mp4")


def test_poster_is_an_upright_jpeg_even_when_asked_past_the_end(rotated, tmp_path):
    facts = validate(rotated)
    poster = make_poster(rotated, tmp_path / "p.jpg", at=30, duration=facts.duration)
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    frame = video_stream(poster)
    assert (frame["width"], frame["height"]) == (240, 320)


def test_poster_past_the_end_without_a_duration_says_so(small, tmp_path):
    with pytest.raises(MediaToolError, match="no frame"):
        make_poster(small, tmp_path / "p.jpg", at=30)


# --- running FFmpeg ------------------------------------------------------------------------


def test_progress_is_throttled_rising_and_ends_at_one():
    calls: list[tuple[float, float]] = []
    run_with_progress(
        [*ENDLESS, "-t", "2.5", "-f", "null", "-"],
        duration=2.5,
        timeout=30,
        progress=lambda fraction: calls.append((time.monotonic(), fraction)),
    )
    fractions = [fraction for _, fraction in calls]
    assert fractions[-1] == 1.0 and 0 < fractions[0] < 1
    assert fractions == sorted(fractions) and len(calls) >= 3
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(calls[:-1])]
    assert all(gap >= 0.9 for gap in gaps)  # the final 1.0 is never held back


def test_a_timeout_kills_ffmpeg():
    seen: list[int] = []
    with pytest.raises(MediaToolError, match="took longer than 2 s"):
        run_with_progress(
            [*ENDLESS, "-f", "null", "-"],
            duration=60,
            timeout=2,
            progress=lambda _: seen.extend(ffmpeg_children(os.getpid())),
            interval=0,
        )
    assert seen and not any(alive(pid) for pid in seen)
    assert ffmpeg_children(os.getpid()) == []


def test_an_exception_in_the_caller_kills_ffmpeg():
    """What happens when RQ's job timeout raises inside the work horse mid-run."""
    seen: list[int] = []

    def job_killed(_: float) -> None:
        seen.extend(ffmpeg_children(os.getpid()))
        raise TimeoutError("job exceeded its timeout")

    with pytest.raises(TimeoutError):
        run_with_progress(
            [*ENDLESS, "-f", "null", "-"], duration=60, timeout=30, progress=job_killed, interval=0
        )
    assert seen and not any(alive(pid) for pid in seen)


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux only")
def test_ffmpeg_dies_with_a_worker_killed_outright():
    """A work horse killed by SIGKILL runs no cleanup: the kernel must end its ffmpeg."""
    script = textwrap.dedent(f"""
        from practika.media.run import run_with_progress
        run_with_progress({[*ENDLESS, "-f", "null", "-"]!r}, duration=60, timeout=60)
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 10
        while not (children := ffmpeg_children(worker.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children, "the worker never started ffmpeg"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in children)


def test_full_range_source_is_converted_to_tv_range_and_bt709_is_left_alone(tmp_path):
    full = tmp_path / "full.mp4"
    ffmpeg(
        *(
            "-f lavfi -i testsrc2=size=320x240:rate=10:duration=1 -c:v libx264 -pix_fmt yuvj420p"
        ).split(),
        str(full),
    )
    facts = validate(full)
    assert facts.color_range == "pc" and not facts.is_bt709_tv
    out = make_renditions(full, facts, plan_ladder(320, 240), tmp_path)
    stream = video_stream(next(iter(out.values())))
    assert stream["pix_fmt"] == "yuv420p" and stream.get("color_range") == "tv"
    plain = synth_video(tmp_path / "plain.mp4", seconds=1, width=320, height=240, audio=False)
    assert validate(plain).is_bt709_tv


# --- cost limits on what the file really holds ---------------------------------------------


def test_a_matroska_header_that_understates_its_length_is_measured_and_refused(lying_mkv):
    assert probe(lying_mkv).duration == pytest.approx(5.0)  # the header lies: 700 s inside
    with pytest.raises(MediaRejected, match=r"^This video is longer than 10 minutes\.$") as refused:
        validate(lying_mkv)
    assert refused.value.code == "too_long"


def test_the_packet_pass_stops_reading_at_its_bounds(lying_mkv):
    by_time = measure(lying_mkv, max_seconds=30, max_frames=10_000)
    assert 29 <= by_time.duration <= 31 and by_time.frames <= 32
    by_frames = measure(lying_mkv, max_seconds=1000, max_frames=50)
    assert by_frames.frames == 50 and by_frames.duration < 60


def test_the_ladder_reads_no_further_than_the_validated_duration(small, tmp_path):
    """Defence in depth: were a file to hold more than validation found, the encode would
    still stop at the duration it was given."""
    facts = dataclasses.replace(validate(small), duration=1.0)  # the file holds 2 s
    outputs = make_renditions(small, facts, plan_ladder(320, 240), tmp_path)
    encoded = float(ffprobe(outputs["240p"])["format"]["duration"])
    assert encoded <= 1.0 + TAIL_SECONDS + 0.1


def test_the_playable_remux_copies_no_further_than_the_validated_duration(small, tmp_path):
    remuxed = remux_faststart(small, tmp_path / "playable.mp4", duration=1.0)  # holds 2 s
    assert float(ffprobe(remuxed)["format"]["duration"]) <= 1.0 + TAIL_SECONDS + 0.6


def test_stored_pixels_count_even_when_their_shape_narrows_the_picture(squeezed):
    facts = probe(squeezed)
    assert (facts.display_width, facts.display_height) == (4096, 2160)  # within the limits
    with pytest.raises(MediaRejected, match=r"picture \(16384x2160\) is larger") as refused:
        validate(squeezed)
    assert refused.value.code == "too_large"


def test_the_stored_size_is_checked_as_it_stands_upright(rotated):
    """Stored 320x240 turned a quarter: 240 wide, within a 300-pixel width."""
    assert validate(rotated, Limits(max_width=300, max_height=400)).display_width == 240


def test_a_picture_narrowed_to_a_sliver_is_refused(sliver):
    with pytest.raises(
        MediaRejected, match=r"^This video's picture \(1x64\) is too narrow"
    ) as refused:
        validate(sliver)
    assert refused.value.code == "too_small"


def test_slow_motion_at_240_fps_is_refused_with_what_to_do(slow_motion):
    with pytest.raises(MediaRejected) as refused:
        validate(slow_motion)
    assert refused.value.code == "frame_rate"
    assert refused.value.reason == (
        "This video is 240 frames per second; Practika takes up to 120. "
        "Export it at 30 or 60 frames per second and upload it again."
    )


def test_4k_at_120_fps_is_over_the_pixel_rate_budget(media):
    video = phone_video(media / "4k120.mp4", "3840x2160", 120, 2)
    with pytest.raises(MediaRejected) as refused:
        validate(video)
    assert refused.value.code == "pixel_rate"
    assert refused.value.reason.startswith(
        "This video is 3840x2160 at 120 frames per second, more than we can process; "
        "at that size we take up to 60 frames per second."
    )


def test_the_pixel_rate_budget_is_a_setting(slow_motion):
    limits = Limits(max_frame_rate=240, max_pixel_rate=320 * 240 * 100)
    with pytest.raises(MediaRejected, match=r"320x240 at 240 .* up to 100 frames") as refused:
        validate(slow_motion, limits)
    assert refused.value.code == "pixel_rate"


@pytest.mark.parametrize(
    ("size", "rate", "rotate", "shown"),
    [
        ("3840x2160", 60, 0, (3840, 2160)),  # 4K at 60
        ("3840x2160", 60, 90, (2160, 3840)),  # the same, filmed upright
        ("4096x2160", 60, 0, (4096, 2160)),  # DCI 4K at 60: the budget itself
        ("1920x1080", 120, 0, (1920, 1080)),  # slow motion at 120
        ("1920x1080", 30, 270, (1080, 1920)),
    ],
)
def test_what_phones_film_is_accepted(media, size, rate, rotate, shown):
    video = phone_video(media / f"phone-{size}-{rate}-{rotate}.mp4", size, rate, 0.5, rotate)
    facts = validate(video)
    assert (facts.display_width, facts.display_height) == shown
    assert facts.duration == pytest.approx(0.5, abs=0.1)


def test_a_camera_a_little_fast_is_still_under_its_cap(media):
    """A 120 fps setting whose clock runs fast: 121 frames a second over the file."""
    video = media / "fast120.mp4"
    ffmpeg(
        *(
            "-f lavfi -i color=c=gray:s=320x240:r=120 -t 2 -vf setpts=PTS*120/121 -fps_mode "
            "passthrough -c:v libx264 -preset ultrafast -pix_fmt yuv420p"
        ).split(),
        str(video),
    )
    assert validate(video).display_width == 320
