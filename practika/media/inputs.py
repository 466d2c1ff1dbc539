"""Opening an untrusted file: the one place that says which demuxers and protocols may run.

FFmpeg picks its demuxer from the content, not the name, so a ``.mp4`` can be an HLS playlist
or an ffconcat script that makes FFmpeg read local files or open URLs. Every tool that opens an
upload gets these options: only the ``file`` protocol, and only the demuxers of the
containers phones and browsers record into (MP4/MOV/3GP and Matroska/WebM). A refused demuxer
fails before it reads its header, so a playlist's entries are never opened.
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg

# ffprobe's ``format_name`` for each allowed demuxer (a demuxer lists the names it answers to).
MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"
MATROSKA_FAMILY = "matroska,webm"
ALLOWED_FORMATS = frozenset({MP4_FAMILY, MATROSKA_FAMILY})

INPUT_OPTIONS = {
    "protocol_whitelist": "file",
    "format_whitelist": ",".join(sorted(ALLOWED_FORMATS)),
}


def input_url(path: Path) -> str:
    """A ``file:`` URL, so a name with a colon or a leading dash is never read as anything else."""
    return f"file:{Path(path).resolve()}"


def input_args(path: Path) -> list[str]:
    """The safe options and ``-i`` for a command built by hand (ffprobe)."""
    options = [item for key, value in INPUT_OPTIONS.items() for item in (f"-{key}", value)]
    return [*options, "-i", input_url(path)]


def open_input(path: Path, **options: object) -> ffmpeg.nodes.FilterableStream:
    """An ffmpeg-python input node for ``path`` with the safe options."""
    return ffmpeg.input(input_url(path), **INPUT_OPTIONS, **options)
