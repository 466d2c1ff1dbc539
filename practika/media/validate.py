"""Is this upload a video Practika accepts? Decided from its content, never from its name.

Phones and browsers mislabel files, so the name and declared type are ignored: the allowed
demuxers (see ``inputs``) decide the container, these allow-lists the codecs, ``Limits`` the
size. Anything refused raises MediaRejected with a reason the uploader can act on; a tool that
could not run raises MediaToolError, which is not the file's fault and may be retried.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from practika.media.inputs import ALLOWED_FORMATS
from practika.media.probe import PROBE_TIMEOUT_SECONDS, ProbeResult, measure_duration, probe
from practika.media.rejections import MediaRejected, spoken_duration
from practika.media.run import MediaToolError

# What phones, cameras and browsers record, and what FFmpeg here can decode.
ALLOWED_VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "h263", "prores"})
ALLOWED_AUDIO_CODECS = frozenset(
    {
        "aac", "mp3", "opus", "vorbis", "flac", "alac", "ac3", "eac3", "amr_nb", "amr_wb",
        "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_f32le",
    }
)  # fmt: skip

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """What an upload may be, in displayed pixels and seconds (set from configuration)."""

    max_duration: float = 600.0
    max_width: int = 4096
    max_height: int = 4096
    max_pixels: int = 4096 * 2160


def validate(
    path: Path,
    limits: Limits = Limits(),
    *,
    ffprobe: str = "ffprobe",
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> ProbeResult:
    """Probe ``path`` and return its facts, with the duration measured when the header lacks
    it; raise MediaRejected if Practika does not accept it."""
    if path.stat().st_size == 0:
        raise MediaRejected("empty")
    facts = _readable(lambda: probe(path, ffprobe, timeout), "unreadable")
    if facts.format_name not in ALLOWED_FORMATS:
        raise MediaRejected("unreadable")
    _check_tracks(facts)
    _check_size(facts, limits)
    _check_duration(facts.duration, limits)
    measured = _readable(lambda: measure_duration(path, ffmpeg_binary, timeout), "damaged")
    duration = _trusted_duration(facts.duration, measured)
    _check_duration(duration, limits)
    return dataclasses.replace(facts, duration=duration)


def _readable(step: Callable[[], T], code: str) -> T:
    """Run a tool step; a tool that ran and refused the file means the file is at fault."""
    try:
        return step()
    except MediaToolError as error:
        if error.returncode is not None and error.returncode > 0:
            raise MediaRejected(code) from error
        raise


def _check_tracks(facts: ProbeResult) -> None:
    if facts.video_codec is None:
        raise MediaRejected("no_video")
    if facts.video_codec not in ALLOWED_VIDEO_CODECS:
        raise MediaRejected("video_codec", codec=facts.video_codec)
    if facts.audio_codec is not None and facts.audio_codec not in ALLOWED_AUDIO_CODECS:
        raise MediaRejected("audio_codec", codec=facts.audio_codec)


def _check_size(facts: ProbeResult, limits: Limits) -> None:
    width, height = facts.display_width, facts.display_height
    if width is None or height is None:
        raise MediaRejected("unreadable")
    if width > limits.max_width or height > limits.max_height or width * height > limits.max_pixels:
        raise MediaRejected("too_large", width=width, height=height)


def _check_duration(duration: float | None, limits: Limits) -> None:
    if duration is not None and duration > limits.max_duration:
        raise MediaRejected("too_long", limit=spoken_duration(limits.max_duration))


def _trusted_duration(header: float | None, measured: float | None) -> float:
    """The header's duration when the packets bear it out, else the measured one.

    Packets that end well before the header says the video does mean a cut-off upload.
    """
    if measured is None:
        raise MediaRejected("no_duration" if header is None else "damaged")
    if header is None:
        return measured
    if measured < header - max(0.5, 0.02 * header):
        raise MediaRejected("damaged")
    return header
