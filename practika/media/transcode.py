"""The FFmpeg commands that make served files: playable-first remux, the ladder, clips, and
a voice comment's sound.

Every output is MP4 with ``+faststart`` (the index first, so playback starts before the whole
file has arrived) and no metadata: ``-map_metadata -1`` for the file, ``:s`` for streams, and
only one video and one audio track mapped, so GPS tags and camera data tracks are left behind.
Outputs go where the caller says, which should be a temporary folder: a failed run deletes
what it wrote, and the caller moves finished files to their final place.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ffmpeg

from practika.media.inputs import open_input
from practika.media.ladder import NativeCopy, Rendition
from practika.media.probe import TAIL_SECONDS, ProbeResult
from practika.media.run import Progress, run_tool, run_with_progress

QUIET = ("-hide_banner", "-loglevel", "error", "-nostdin")
STRIP_METADATA = {"map_metadata": "-1", "map_metadata:s": "-1", "map_chapters": "-1"}
# veryfast: a rendition ladder for practice videos is judged on time to ready more than on
# the last few percent of bitrate; CRF with a cap keeps simple scenes small.
H264 = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "profile:v": "high",
    "pix_fmt": "yuv420p",
    "color_primaries": "bt709",
    "color_trc": "bt709",
    "colorspace": "bt709",
    # Phones record variable frame rate. Keeping each frame's timestamp keeps sound in sync
    # and duplicates nothing; "vfr" (unlike "passthrough") drops a frame whose timestamp
    # repeats, which the MP4 muxer would refuse.
    "fps_mode": "vfr",
}
MP4 = {"f": "mp4", "movflags": "+faststart", **STRIP_METADATA}
# From this short side up, x264's sub-pixel refinement is cut to its quickest (subme=1):
# the 1080p rung is two thirds of the ladder's encoding, and there it saved about a fifth of
# the ladder's CPU for 0.001 SSIM (bench_media). Its price is bitrate where the picture is
# simple (up to a tenth more, within the rung's cap); smaller rungs would pay more of it
# for less, so they keep the preset's own setting.
QUICK_SUBPEL_FROM = 1080


def rung_settings(rendition: Rendition | None) -> dict[str, str]:
    """The x264 options a rung adds to ``H264``."""
    if rendition and min(rendition.width, rendition.height) >= QUICK_SUBPEL_FROM:
        return {"x264-params": "subme=1"}
    return {}


LADDER_TIMEOUT_SECONDS = 3600.0
SHORT_TIMEOUT_SECONDS = 300.0


def remux_faststart(
    src: Path,
    dst: Path,
    *,
    duration: float | None = None,
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = SHORT_TIMEOUT_SECONDS,
) -> Path:
    """Copy the streams into an MP4 with ``+faststart`` and no metadata: playable in seconds.

    Only for sources ``ladder.playable_by_remux`` accepts. Rotation is side data, not
    metadata, so it survives and the video still plays upright. With the validated
    ``duration`` it copies no further, like the ladder.
    """
    return _stream_copy(src, dst, duration, MP4, ffmpeg_binary, timeout)


def remux_native(
    src: Path,
    dst: Path,
    native: NativeCopy,
    *,
    duration: float | None = None,
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = SHORT_TIMEOUT_SECONDS,
) -> Path:
    """The stream copy ``ladder.native_copy`` chose: a browser recorder's WebM with its
    duration and index written at the front (the recorder could write neither, so the file
    could not be seeked), or an iPhone's HEVC in MP4 with the ``hvc1`` tag Safari needs (FFmpeg
    would write ``hev1``). Metadata is stripped as for every served file."""
    if native.container == "webm":
        options = {"f": "webm", "cues_to_front": 1, **STRIP_METADATA}
    else:
        options = {**MP4, "tag:v": "hvc1"}
    return _stream_copy(src, dst, duration, options, ffmpeg_binary, timeout)


def _stream_copy(
    src: Path,
    dst: Path,
    duration: float | None,
    options: dict[str, Any],
    ffmpeg_binary: str,
    timeout: float,
) -> Path:
    source = open_input(
        src, **({} if duration is None else {"t": f"{duration + TAIL_SECONDS:.3f}"})
    )
    output = ffmpeg.output(source["V:0"], source["a:0?"], str(dst), c="copy", **options)
    return _write(output, dst, ffmpeg_binary, timeout)


def make_renditions(
    src: Path,
    facts: ProbeResult,
    renditions: Sequence[Rendition],
    workdir: Path,
    *,
    progress: Progress | None = None,
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = LADDER_TIMEOUT_SECONDS,
) -> dict[str, Path]:
    """Encode every rendition in one FFmpeg process that decodes the source once.

    ``facts`` come from ``validate``: its duration turns FFmpeg's position into a fraction
    for ``progress`` and bounds what is read. Returns ``{rendition name: file in workdir}``.
    """
    outputs = {rendition.name: workdir / f"{rendition.name}.mp4" for rendition in renditions}
    args = _ladder_args(src, facts, renditions, outputs, ffmpeg_binary)
    with _removed_on_failure(outputs.values()):
        run_with_progress(args, duration=facts.duration or 0.0, timeout=timeout, progress=progress)
    return outputs


# A voice comment: AAC-LC (every browser decodes it) in mono, as clear as a voice needs.
VOICE_AAC = {"acodec": "aac", "profile:a": "aac_low", "b:a": 80_000, "ac": 1}


def encode_voice(
    src: Path,
    facts: ProbeResult,
    dst: Path,
    *,
    progress: Progress | None = None,
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = SHORT_TIMEOUT_SECONDS,
) -> Path:
    """A voice comment's one served file: its sound as an AAC-LC .m4a with ``+faststart``
    and no metadata, read no further than the validated duration. Only the sound track
    ``validate_sound`` found is mapped: a picture in the file is never decoded."""
    bound = {} if facts.duration is None else {"t": f"{facts.duration + TAIL_SECONDS:.3f}"}
    source = open_input(src, **bound)
    args = (
        ffmpeg.output(source[str(facts.audio_stream)], str(dst), **VOICE_AAC, **MP4)
        .global_args(*QUIET)
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )
    with _removed_on_failure([dst]):
        run_with_progress(args, duration=facts.duration or 0.0, timeout=timeout, progress=progress)
    return dst


def cut_clip(
    src: Path,
    start: float,
    end: float,
    dst: Path,
    *,
    ffmpeg_binary: str = "ffmpeg",
    timeout: float = SHORT_TIMEOUT_SECONDS,
) -> Path:
    """A small MP4 of ``src`` from ``start`` to ``end`` seconds.

    Re-encoded, because a stream copy can only start on a keyframe; ``-ss`` before ``-i``
    seeks fast and FFmpeg still drops the decoded frames before ``start``, so the cut is
    frame-accurate.
    """
    if not 0 <= start < end:
        raise ValueError(f"a clip needs 0 <= start < end, got {start}..{end}")
    source = open_input(src, ss=f"{start:.3f}")
    video = source["V:0"].filter("format", "yuv420p")
    output = ffmpeg.output(
        video, source["a:0?"], str(dst), t=f"{end - start:.3f}", **_encode(128_000)
    )
    return _write(output, dst, ffmpeg_binary, timeout)


def _write(output, dst: Path, ffmpeg_binary: str, timeout: float) -> Path:
    """Run one ffmpeg-python output; a failed run leaves no ``dst`` behind."""
    args = output.global_args(*QUIET).overwrite_output().compile(cmd=ffmpeg_binary)
    with _removed_on_failure([dst]):
        run_tool(args, timeout=timeout)
    return dst


def _ladder_args(
    src: Path,
    facts: ProbeResult,
    renditions: Sequence[Rendition],
    outputs: dict[str, Path],
    ffmpeg_binary: str,
) -> list[str]:
    # FFmpeg applies the display matrix itself (autorotate) before the filters, so frames
    # arrive upright, and it does not copy the matrix to an encoded output. It reads no further
    # than the validated duration: a file holding more than it says costs no more than it says.
    bound = {} if facts.duration is None else {"t": f"{facts.duration + TAIL_SECONDS:.3f}"}
    source = open_input(src, **bound)
    video = source[str(facts.video_stream)]
    if facts.is_hdr and _has_filter(ffmpeg_binary, "zscale"):
        video = _tonemapped(video, renditions[-1])
    audio = [source[str(facts.audio_stream)]] if facts.audio_stream is not None else []
    streams = []
    for rendition, scaled in _scaled(video, facts, renditions):
        path = str(outputs[rendition.name])
        options = _encode(rendition.audio_bitrate if audio else None, rendition)
        streams.append(
            ffmpeg.output(
                scaled,
                *audio,
                path,
                maxrate=rendition.video_bitrate,
                bufsize=2 * rendition.video_bitrate,
                **options,
            )
        )
    return (
        ffmpeg.merge_outputs(*streams)
        .global_args(*QUIET)
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )


def _scaled(
    video: Any, facts: ProbeResult, renditions: Sequence[Rendition]
) -> Iterator[tuple[Rendition, Any]]:
    """Each rendition's picture, largest first, each scaled from the one above it: shrinking
    720p to 360p costs a ninth of shrinking 4K to 360p, and measured no worse (bench_media's
    SSIM). Only the first scale converts colours: matrix and range to BT.709 TV range, so a
    BT.2020 or full-range source keeps its colours in 8-bit yuv420p instead of coming out
    washed out or too dark, and only when needed (asking swscale for it costs a lot)."""
    colours = {} if facts.is_bt709_tv else {"out_color_matrix": "bt709", "out_range": "tv"}
    largest_first = sorted(renditions, key=lambda r: r.width * r.height, reverse=True)
    for position, rendition in enumerate(largest_first):
        picture = (
            video.filter("scale", rendition.width, rendition.height, **colours)
            .filter("setsar", 1)
            .filter("format", "yuv420p")
        )
        colours = {}
        if position == len(largest_first) - 1:
            yield rendition, picture
        else:
            branches = picture.filter_multi_output("split")
            yield rendition, branches[0]
            video = branches[1]


def _tonemapped(video: Any, top: Rendition) -> Any:
    """HDR (PQ or HLG) to SDR BT.709, once, at the largest output size (tonemapping in float
    is costly, so it runs on as few pixels as the ladder needs)."""
    return (
        video.filter("scale", top.width, top.height)
        .filter("zscale", t="linear", npl=100)
        .filter("format", "gbrpf32le")
        .filter("zscale", p="bt709")
        .filter("tonemap", tonemap="hable", desat=0)
        .filter("zscale", t="bt709", m="bt709", r="tv")
        .filter("format", "yuv420p")
    )


def _encode(audio_bitrate: int | None, rendition: Rendition | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {**H264, **MP4, **rung_settings(rendition)}
    if audio_bitrate is not None:
        options |= {"acodec": "aac", "b:a": audio_bitrate, "ac": 2}
    return options


@functools.cache
def _has_filter(ffmpeg_binary: str, name: str) -> bool:
    """Whether this FFmpeg build has a filter (``zscale`` needs zimg, not in every build)."""
    listing = run_tool([ffmpeg_binary, "-hide_banner", "-filters"], timeout=10)
    return any(line.split()[1:2] == [name] for line in listing.splitlines())


@contextmanager
def _removed_on_failure(paths: Iterable[Path]) -> Iterator[None]:
    """Delete what a failed run wrote, so no half-written file is ever mistaken for output."""
    written = list(paths)
    try:
        yield
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
