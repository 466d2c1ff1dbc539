"""Generated videos: the demo exercise's model video and the test suite's fixtures."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from practika.media.run import run_tool


def synth_video(
    path: Path,
    *,
    seconds: float = 4,
    width: int = 640,
    height: int = 360,
    rate: int = 30,
    audio: bool = True,
    ffmpeg_binary: str = "ffmpeg",
) -> Path:
    """Write an H.264/AAC MP4 test pattern (with a tone) that every browser plays."""
    video = ffmpeg.input(f"testsrc2=size={width}x{height}:rate={rate}", f="lavfi", t=seconds)
    options = {
        "vcodec": "libx264",
        "pix_fmt": "yuv420p",
        "preset": "veryfast",
        "movflags": "+faststart",
    }
    streams = [video]
    if audio:
        streams.append(ffmpeg.input("sine=frequency=440:sample_rate=48000", f="lavfi", t=seconds))
        options |= {"acodec": "aac", "audio_bitrate": "96k"}
    args = (
        ffmpeg.output(*streams, str(path), **options)
        .global_args("-hide_banner", "-loglevel", "error", "-nostdin")
        .overwrite_output()
        .compile(cmd=ffmpeg_binary)
    )
    run_tool(args, timeout=120)
    return path
