"""What a video file is: ffprobe's answer reduced to the facts Practika stores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from practika.media.run import run_tool

PROBE_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ProbeResult:
    format_name: str
    duration: float | None
    width: int | None
    height: int | None
    video_codec: str | None
    audio_codec: str | None


def probe(
    path: Path, ffprobe: str = "ffprobe", timeout: float = PROBE_TIMEOUT_SECONDS
) -> ProbeResult:
    """Probe a local file; only the ``file`` protocol is allowed, so no URL is ever opened."""
    out = run_tool(
        [
            ffprobe,
            "-v", "error",
            "-protocol_whitelist", "file",
            "-print_format", "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        timeout=timeout,
    )  # fmt: skip
    info = json.loads(out or "{}")
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = info.get("format", {}).get("duration")
    return ProbeResult(
        format_name=info.get("format", {}).get("format_name", ""),
        duration=float(duration) if duration not in (None, "N/A") else None,
        width=int(video["width"]) if video and "width" in video else None,
        height=int(video["height"]) if video and "height" in video else None,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
    )
