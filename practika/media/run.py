"""Run FFmpeg tools as argument lists with a hard timeout, and report failures readably."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class MediaToolError(RuntimeError):
    """ffmpeg or ffprobe failed; ``stderr`` holds the tail of what it said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


def run_tool(args: Sequence[str], timeout: float) -> str:
    """Run ``args`` (never through a shell); return stdout; raise MediaToolError on failure."""
    try:
        result = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise MediaToolError(
            f"{args[0]} took longer than {timeout:.0f} s and was stopped"
        ) from None
    except FileNotFoundError:
        raise MediaToolError(f"{args[0]} is not installed") from None
    if result.returncode != 0:
        tail = result.stderr.strip()[-2000:]
        raise MediaToolError(f"{args[0]} exited with {result.returncode}", tail)
    return result.stdout
