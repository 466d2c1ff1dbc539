"""Which renditions to make of a source, and whether a remux alone makes it playable.

Rungs are chosen by the short side so portrait and landscape get the same quality: a
1080x1920 phone video gets 360x640, 720x1280 and 1080x1920 (``scale=-2:720`` would make a
portrait 406x720). Nothing is ever upscaled.
"""

from __future__ import annotations

from dataclasses import dataclass

from practika.media.inputs import MP4_FAMILY
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
