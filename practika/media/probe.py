"""What a video file is: ffprobe's answer reduced to the facts Practika decides on and stores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from practika.media.inputs import input_args, open_input
from practika.media.run import run_tool

PROBE_TIMEOUT_SECONDS = 30
# How far a file's packets may run past its stated duration (the last frame's own length,
# sound that ends a little after the picture). Validation accepts that much, and every
# encode reads that much past the duration and no more.
TAIL_SECONDS = 0.5
HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})  # PQ (HDR10, Dolby Vision) and HLG


@dataclass(frozen=True)
class ProbeResult:
    """``width``/``height`` are stored pixels; ``display_*`` are what a viewer sees, after the
    rotation phones record as metadata and any non-square pixel shape."""

    format_name: str
    duration: float | None
    width: int | None
    height: int | None
    video_codec: str | None
    audio_codec: str | None
    video_stream: int | None = None
    audio_stream: int | None = None
    pix_fmt: str | None = None
    color_transfer: str | None = None
    color_space: str | None = None
    color_range: str | None = None
    rotation: int = 0
    display_width: int | None = None
    display_height: int | None = None
    codec_tag: str | None = None  # the sample entry's name in MP4 (``hvc1``, ``hev1``, ``avc1``)
    video_level: int | None = None
    audio_profile: str | None = None  # ``LC`` for the AAC every browser decodes

    @property
    def is_hdr(self) -> bool:
        return self.color_transfer in HDR_TRANSFERS

    @property
    def is_bt709_tv(self) -> bool:
        """Already BT.709 (or untagged, as most 8-bit H.264 is) in TV range: the colours
        need no conversion on the way to our outputs."""
        return self.color_space in (None, "unknown", "bt709") and self.color_range != "pc"


def probe(
    path: Path, ffprobe: str = "ffprobe", timeout: float = PROBE_TIMEOUT_SECONDS
) -> ProbeResult:
    """Probe a local file with the safe input options (``file`` protocol, allowed demuxers)."""
    out = run_tool(
        [
            ffprobe,
            *"-v error -print_format json -show_format -show_streams".split(),
            *input_args(path),
        ],
        timeout=timeout,
    )
    info = json.loads(out or "{}")
    streams = info.get("streams", [])
    video = next((s for s in streams if _is_picture_track(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = video or {}
    width, height = _positive(video.get("width")), _positive(video.get("height"))
    rotation = _rotation(video)
    display_width, display_height = _display_size(width, height, rotation, video)
    return ProbeResult(
        format_name=info.get("format", {}).get("format_name", ""),
        duration=_seconds(info.get("format", {}).get("duration")),
        width=width,
        height=height,
        video_codec=video.get("codec_name"),
        audio_codec=audio.get("codec_name") if audio else None,
        video_stream=video.get("index"),
        audio_stream=audio.get("index") if audio else None,
        pix_fmt=video.get("pix_fmt"),
        color_transfer=video.get("color_transfer"),
        color_space=video.get("color_space"),
        color_range=video.get("color_range"),
        rotation=rotation,
        display_width=display_width,
        display_height=display_height,
        codec_tag=video.get("codec_tag_string"),
        video_level=video.get("level") if isinstance(video.get("level"), int) else None,
        audio_profile=audio.get("profile") if audio else None,
    )


@dataclass(frozen=True)
class Measured:
    """What the packets of a file hold, whatever its header says."""

    duration: float  # seconds to the end of the last packet read
    frames: int  # packets of the first picture track

    @property
    def frame_rate(self) -> float:
        """Frames per second of the picture track over the whole file: what encoding it costs.

        ``duration`` ends at the last frame's start (or at the sound's end, which can only lower
        the figure), so ``frames - 1`` intervals fit in it: a 240 fps video reads 240, not 240.5.
        """
        return (self.frames - 1) / self.duration if self.frames > 1 else 0.0


def measure(
    path: Path,
    *,
    max_seconds: float,
    max_frames: int | None = None,
    sound_only: bool = False,
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> Measured | None:
    """Seconds and frames actually in the file, found by reading packets without decoding,
    and never more than ``max_seconds`` or ``max_frames`` of them.

    A header can say anything: browser ``MediaRecorder`` WebM has no duration in it, a
    truncated MP4 keeps the duration of the whole recording, and a hostile Matroska claims
    5 s over hours of frames. A stream-copy pass to the null muxer reads the real figures in a
    fraction of a second, and stops at the bounds: a file that reaches one is over the limits,
    however much more it holds. A ``sound_only`` file (a voice comment) is read for its sound
    alone, and has no frames to count.
    """
    source = open_input(path)
    streams = [source["a"]] if sound_only else [source["V"], source["a?"]]
    frames = {} if max_frames is None else {"frames:v": max_frames}
    args = (
        ffmpeg.output(*streams, "-", f="null", c="copy", t=max_seconds, **frames)
        .global_args("-hide_banner", "-loglevel", "error", "-nostdin")
        .global_args("-progress", "pipe:1", "-nostats")
        .compile(cmd=ffmpeg_binary)
    )
    lines = run_tool(args, timeout=timeout).splitlines()
    # ``-progress`` writes key=value blocks; the last block, which wins here, has the totals.
    report = dict(line.split("=", 1) for line in lines if "=" in line)
    time_us, frames = report.get("out_time_us", ""), report.get("frame", "")
    if not time_us.isdigit() or int(time_us) == 0:
        return None
    return Measured(int(time_us) / 1_000_000, int(frames) if frames.isdigit() else 0)


def _is_picture_track(stream: dict[str, Any]) -> bool:
    """A video stream that is not cover art (an attached picture is one still image)."""
    attached = stream.get("disposition", {}).get("attached_pic", 0)
    return stream.get("codec_type") == "video" and not attached


def _rotation(stream: dict[str, Any]) -> int:
    """Rotation in degrees, one of 0/90/180/270, from the display matrix or the old tag."""
    for side_data in stream.get("side_data_list", []):
        if side_data.get("side_data_type") == "Display Matrix" and "rotation" in side_data:
            return round(float(side_data["rotation"]) / 90) * 90 % 360
    tag = stream.get("tags", {}).get("rotate", "0")
    try:
        return round(float(tag) / 90) * 90 % 360
    except ValueError:
        return 0


def _display_size(
    width: int | None, height: int | None, rotation: int, stream: dict[str, Any]
) -> tuple[int | None, int | None]:
    if width is None or height is None:
        return None, None
    num, _, den = stream.get("sample_aspect_ratio", "1:1").partition(":")
    if num.isdigit() and den.isdigit() and int(num) > 0 and int(den) > 0:
        width = round(width * int(num) / int(den))
    return (height, width) if rotation in (90, 270) else (width, height)


def _positive(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and value > 0 else None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
