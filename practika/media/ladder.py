"""Which renditions to make of a source, and whether a remux alone makes it playable.

Rungs are chosen by the short side so portrait and landscape get the same quality: a
1080x1920 phone video gets 360x640, 720x1280 and 1080x1920 (``scale=-2:720`` would make a
portrait 406x720). Nothing is ever upscaled.
"""

from __future__ import annotations

from dataclasses import dataclass

from practika.media.inputs import MATROSKA_FAMILY, MP4_FAMILY
from practika.media.probe import ProbeResult

# (short side, video bitrate cap, audio bitrate), in bits per second.
RUNGS = ((360, 800_000, 96_000), (720, 2_500_000, 128_000), (1080, 5_000_000, 160_000))
MIN_VIDEO_BITRATE = 200_000
LOWEST_RUNG_PIXELS = 640 * 360


@dataclass(frozen=True)
class Rendition:
    """One output of the ladder: ``name`` is the short side (``720p``), bitrates are caps."""

    name: str
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int


def plan_ladder(width: int, height: int) -> list[Rendition]:
    """Renditions for a source of ``width`` x ``height`` displayed pixels, smallest first.

    A source shorter than the lowest rung gets one rendition at its own (even) size.
    """
    if width < 2 or height < 2:
        raise ValueError(f"no picture to scale: {width}x{height}")
    short, long = sorted((width, height))
    rungs = [rung for rung in RUNGS if rung[0] <= short]
    if not rungs:
        # Below the lowest rung the bitrate shrinks with the picture, down to a floor.
        _, bitrate, audio = RUNGS[0]
        share = _even_down(width) * _even_down(height) / LOWEST_RUNG_PIXELS
        video = max(MIN_VIDEO_BITRATE, round(bitrate * share))
        return [_rendition(_even_down(short), _even_down(long), width >= height, video, audio)]
    renditions = []
    for rung_short, bitrate, audio in rungs:
        rung_long = min(_even_nearest(long * rung_short / short), _even_down(long))
        renditions.append(_rendition(rung_short, rung_long, width >= height, bitrate, audio))
    return renditions


def playable_by_remux(facts: ProbeResult) -> bool:
    """True when a stream copy into MP4 with ``+faststart`` plays in every browser.

    That is H.264 in 8-bit 4:2:0 (not High 10 or 4:2:2, which browsers refuse), SDR, with AAC
    sound or none, in the MP4/MOV family. The display matrix survives the copy and browsers
    honour it, so a rotated phone video still plays upright.
    """
    return (
        facts.format_name == MP4_FAMILY
        and facts.video_codec == "h264"
        and facts.pix_fmt == "yuv420p"
        and not facts.is_hdr
        and facts.audio_codec in (None, "aac")
    )


NATIVE_CONTAINERS = ("webm", "mp4")


@dataclass(frozen=True)
class NativeCopy:
    """A stream copy of the source into its own container family, with the MIME type (codecs
    included) a page asks a browser about before it offers the file (``native_family`` names
    its family): ``container`` is the FFmpeg muxer."""

    container: str
    mime: str


# What a browser is asked (``canPlayType``) for each family a native copy can be; the page
# tells the server its answers, and the server offers a native copy only where it plays.
NATIVE_FAMILIES = {
    "vp8": 'video/webm; codecs="vp8, opus"',
    "vp9": 'video/webm; codecs="vp9, opus"',
    "hevc": 'video/mp4; codecs="hvc1.1.6.L120.B0, mp4a.40.2"',
}


def native_family(mime: str) -> str | None:
    """The ``NATIVE_FAMILIES`` name of a native copy's MIME type (by its first codec)."""
    codec = mime.partition('codecs="')[2].split(",")[0].split(".")[0].strip()
    return {"vp8": "vp8", "vp9": "vp9", "hvc1": "hevc"}.get(codec)


def native_copy(facts: ProbeResult) -> NativeCopy | None:
    """How a source that ``playable_by_remux`` refuses can still play at once, in the browsers
    that decode it: a browser recorder's VP8 or VP9 WebM (Chrome, Edge, Firefox, Safari 15+),
    or an iPhone's 8-bit HEVC in MP4 (Safari, and Chrome or Edge where the device decodes
    HEVC). None for anything else, or for HEVC tagged ``hev1``, which Safari refuses."""
    if facts.pix_fmt != "yuv420p" or facts.is_hdr:
        return None
    if facts.format_name == MATROSKA_FAMILY and facts.video_codec in ("vp8", "vp9"):
        if facts.audio_codec not in (None, "opus"):  # Safari plays Opus in WebM, not Vorbis
            return None
        codecs = facts.video_codec + (f", {facts.audio_codec}" if facts.audio_codec else "")
        return NativeCopy("webm", f'video/webm; codecs="{codecs}"')
    if (
        facts.format_name == MP4_FAMILY
        and facts.video_codec == "hevc"
        and facts.codec_tag == "hvc1"
        and facts.audio_codec in (None, "aac")
        and facts.audio_profile in (None, "LC")
    ):
        level = facts.video_level or 120
        codecs = f"hvc1.1.6.L{level}.B0" + (", mp4a.40.2" if facts.audio_codec else "")
        return NativeCopy("mp4", f'video/mp4; codecs="{codecs}"')
    return None


# A source may stand in for the top rung up to this multiple of the rung's bitrate cap.
REUSE_BITRATE_FACTOR = 2


def reusable_top_rung(
    facts: ProbeResult, ladder: list[Rendition], source_bitrate: float
) -> Rendition | None:
    """The top rung, when the remuxed source already is it: same size, upright, browser-ready
    and not much heavier than the rung. Encoding it again would only cost CPU and quality."""
    top = ladder[-1]
    fits = (
        playable_by_remux(facts)
        and facts.rotation == 0
        and (facts.display_width, facts.display_height) == (top.width, top.height)
        and source_bitrate <= REUSE_BITRATE_FACTOR * (top.video_bitrate + top.audio_bitrate)
    )
    return top if fits else None


def _rendition(short: int, long: int, landscape: bool, video: int, audio: int) -> Rendition:
    width, height = (long, short) if landscape else (short, long)
    return Rendition(f"{short}p", width, height, video, audio)


def _even_nearest(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _even_down(value: int) -> int:
    return max(2, value - value % 2)
