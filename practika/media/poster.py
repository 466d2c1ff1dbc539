"""Posters: the still frame a player shows before it plays."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from practika.media.inputs import open_input
from practika.media.run import MediaToolError, run_tool

POSTER_MAX_SIDE = 1280  # a poster is shown at player size; a 4K still would only cost bytes


def make_poster(
    video: Path,
    poster: Path,
    at: float = 1.0,
    ffmpeg_binary: str = "ffmpeg",
    *,
    duration: float | None = None,
    timeout: float = 60,
) -> Path:
    """One JPEG frame near ``at`` seconds, upright, at most POSTER_MAX_SIDE on its long side.

    ``-ss`` before ``-i`` seeks by the index instead of decoding up to ``at`` (~7x faster).
    Given the ``duration``, ``at`` is moved inside the video: a seek past the end yields no
    frame at all.
    """
    if duration is not None:
        latest = duration - 0.5 if duration > 1.0 else duration / 2
        at = max(0.0, min(at, latest))
    frame = open_input(video, ss=f"{at:.3f}")["V:0"].filter(
        "scale",
        f"min(iw,{POSTER_MAX_SIDE})",
        f"min(ih,{POSTER_MAX_SIDE})",
        force_original_aspect_ratio="decrease",
    )
    args = (
        ffmpeg.output(frame, str(poster), vframes=1, f="image2", update=1, **{"q:v": 3})
        .global_args("-hide_banner", "-loglevel", "error", "-nostdin")
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )
    poster.unlink(missing_ok=True)
    run_tool(args, timeout=timeout)
    if not poster.exists() or poster.stat().st_size == 0:
        raise MediaToolError(f"{ffmpeg_binary} found no frame at {at:.1f} s for the poster")
    return poster
