"""Posters: the still frame a player shows before it plays."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from practika.media.run import run_tool


def make_poster(video: Path, poster: Path, at: float = 1.0, ffmpeg_binary: str = "ffmpeg") -> Path:
    """One JPEG frame, seeking before the input (fast)."""
    args = (
        ffmpeg.input(str(video), ss=at)
        .output(str(poster), vframes=1, **{"q:v": 3})
        .global_args("-hide_banner", "-loglevel", "error", "-nostdin")
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )
    run_tool(args, timeout=60)
    return poster
