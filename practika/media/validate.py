"""Is this upload a video Practika accepts? Decided from its content, never from its name.

Phones and browsers mislabel files, so the name and declared type are ignored: the allowed
demuxers (see ``inputs``) decide the container, these allow-lists the codecs, ``Limits`` the
cost. Limits apply to what the file really holds: the duration and frame rate its packets
bear out, the size of its stored and of its displayed picture. Anything refused raises
MediaRejected with a reason the uploader can act on; a tool that could not run raises
MediaToolError, which is not the file's fault and may be retried.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from practika.media.inputs import ALLOWED_FORMATS
from practika.media.probe import (
    PROBE_TIMEOUT_SECONDS,
    TAIL_SECONDS,
    Measured,
    ProbeResult,
    measure,
    probe,
)
from practika.media.rejections import MediaRejected, spoken_duration
from practika.media.run import MediaToolError

# What phones, cameras and browsers record, and what FFmpeg here can decode.
ALLOWED_VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "h263", "prores"})
ALLOWED_AUDIO_CODECS = frozenset(
    {
        "aac",
        "mp3",
        "opus",
        "vorbis",
        "flac",
        "alac",
        "ac3",
        "eac3",
        "amr_nb",
        "amr_wb",
        "pcm_s16le",
        "pcm_s16be",
        "pcm_s24le",
        "pcm_s24be",
        "pcm_f32le",
    }
)

T = TypeVar("T")

# The packet pass reads this far past the duration limit, more than TAIL_SECONDS: a file it
# stops reading is known to be too long.
READ_MARGIN_SECONDS = 1.0
# A camera's frame rate is a setting, not an exact figure (its clock drifts, variable-rate
# timestamps jitter): a measured rate 1% over a limit is still that setting.
RATE_TOLERANCE = 1.01
# Frame rates cameras record, for saying a measured or allowed rate as people know it.
CAMERA_RATES = (24, 25, 30, 48, 50, 60, 100, 120, 240)


@dataclass(frozen=True)
class Limits:
    """What an upload may be (set from configuration). Sizes bound both the stored picture
    (turned upright) and the displayed one, whose pixels may be wider or narrower than tall.

    Defaults take what phones film, 4K at 60 fps and 1080p slow motion at 120 fps, and
    refuse 240 fps: renditions keep every frame, so it would cost eight times a 30 fps
    video to encode, store and stream, and a browser plays it at normal speed anyway (the
    slow motion is the phone's own player stretching it).
    """

    max_duration: float = 600.0
    max_width: int = 4096
    max_height: int = 4096
    max_pixels: int = 4096 * 2160
    max_frame_rate: int = 120
    max_pixel_rate: int = 4096 * 2160 * 60  # stored pixels per second: DCI 4K at 60 fps

    @property
    def max_frames(self) -> int:
        """More frames than the longest video at the highest frame rate can hold."""
        seconds = self.max_duration + READ_MARGIN_SECONDS
        return math.ceil(self.max_frame_rate * RATE_TOLERANCE * seconds) + 2


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
    _check_duration(facts.duration, limits.max_duration)  # a header that admits too much: unread
    measured = _readable(
        lambda: measure(
            path,
            max_seconds=limits.max_duration + READ_MARGIN_SECONDS,
            max_frames=limits.max_frames,
            ffmpeg_binary=ffmpeg_binary,
            timeout=timeout,
        ),
        "damaged",
    )
    duration = _trusted_duration(facts.duration, measured)
    _check_duration(duration, limits.max_duration)
    _check_frame_rate(facts, measured, limits)
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
    """The displayed picture is what the ladder scales to; the stored one is what decoding
    costs: a 16384x2160 picture of 1:4 pixels shows as 4096x2160 and must still be refused."""
    if facts.display_width is None or facts.display_height is None:
        raise MediaRejected("unreadable")
    for width, height in (_upright_stored(facts), (facts.display_width, facts.display_height)):
        if (
            width > limits.max_width
            or height > limits.max_height
            or width * height > limits.max_pixels
        ):
            raise MediaRejected("too_large", width=width, height=height)
        if width < 2 or height < 2:  # less than any rendition can be
            raise MediaRejected("too_small", width=width, height=height)


def _upright_stored(facts: ProbeResult) -> tuple[int, int]:
    """The stored size as it stands once the rotation phones record is applied."""
    assert facts.width is not None and facts.height is not None  # a display size implies them
    if facts.rotation in (90, 270):
        return facts.height, facts.width
    return facts.width, facts.height


def _check_duration(duration: float | None, most: float, code: str = "too_long") -> None:
    if duration is not None and duration > most:
        raise MediaRejected(code, limit=spoken_duration(most))


def validate_sound(
    path: Path,
    max_duration: float,
    *,
    ffprobe: str = "ffprobe",
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> ProbeResult:
    """A voice comment's facts, as ``validate`` for a video: the same allowed demuxers and
    audio codecs, its duration borne out by its packets and at most ``max_duration``. It
    needs a sound track and no picture; a picture track in it (an M4A's cover art) is
    never decoded, since only the sound is kept. Raises MediaRejected in words about a
    recording."""
    if path.stat().st_size == 0:
        raise MediaRejected("empty")
    facts = _readable(lambda: probe(path, ffprobe, timeout), "not_sound")
    if facts.format_name not in ALLOWED_FORMATS:
        raise MediaRejected("not_sound")
    if facts.audio_codec is None:
        raise MediaRejected("no_sound")
    if facts.audio_codec not in ALLOWED_AUDIO_CODECS:
        raise MediaRejected("sound_codec", codec=facts.audio_codec)
    _check_duration(facts.duration, max_duration, "voice_too_long")
    measured = _readable(
        lambda: measure(
            path,
            max_seconds=max_duration + READ_MARGIN_SECONDS,
            sound_only=True,
            ffmpeg_binary=ffmpeg_binary,
            timeout=timeout,
        ),
        "sound_damaged",
    )
    try:
        duration = _trusted_duration(facts.duration, measured)
    except MediaRejected:
        raise MediaRejected("sound_damaged") from None
    _check_duration(duration, max_duration, "voice_too_long")
    return dataclasses.replace(facts, duration=duration)


def _check_frame_rate(facts: ProbeResult, measured: Measured, limits: Limits) -> None:
    """Frames per second counted in the packets, and stored pixels per second: what the
    ladder will decode and encode for each second of video."""
    rate = measured.frame_rate
    if rate > limits.max_frame_rate * RATE_TOLERANCE:
        limit = limits.max_frame_rate
        raise MediaRejected("frame_rate", rate=_spoken_rate(rate, limit), limit=f"{limit:g}")
    width, height = _upright_stored(facts)
    if width * height * rate > limits.max_pixel_rate * RATE_TOLERANCE:
        allowed = limits.max_pixel_rate / (width * height)
        limit = max((c for c in CAMERA_RATES if c <= allowed), default=math.floor(allowed))
        raise MediaRejected(
            "pixel_rate", width=width, height=height, rate=_spoken_rate(rate, limit), limit=limit
        )


def _spoken_rate(rate: float, limit: float) -> int:
    """The camera's frame rate a measured one (over ``limit``) stands for: measured over the
    whole file, sound included, a 240 fps video can read 237."""
    nearest = min(CAMERA_RATES, key=lambda camera: abs(camera - rate))
    close = abs(nearest - rate) <= 0.03 * rate
    return nearest if close and nearest > limit else math.ceil(rate)


def _trusted_duration(header: float | None, measured: Measured | None) -> float:
    """The header's duration when the packets bear it out, else the measured one.

    Packets that end well before the header says the video does mean a cut-off upload;
    packets that go on past it mean a header that lies, and the packets are the truth.
    """
    if measured is None:
        raise MediaRejected("no_duration" if header is None else "damaged")
    if header is None or measured.duration > header + TAIL_SECONDS:
        return measured.duration
    if measured.duration < header - max(0.5, 0.02 * header):
        raise MediaRejected("damaged")
    return header
