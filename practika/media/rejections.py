"""Why an upload was refused, in words its owner can act on: every reason lives here.

A rejection is the file's fault, so a job fails at once and never retries it. ``code`` is
stable (for ``validation_errors`` and tests); ``reason`` is what the status fragment shows.
"""

from __future__ import annotations

REASONS = {
    "empty": "This file is empty. Try uploading it again.",
    "unreadable": "This file is not a video we can read. Upload an MP4, MOV or WebM video.",
    "no_video": "This file has no video track.",
    "video_codec": (
        "This video is encoded as {codec}, which we cannot play. "
        "Export it as H.264 MP4 and upload it again."
    ),
    "audio_codec": (
        "This video's sound is encoded as {codec}, which we cannot play. "
        "Export it with AAC sound and upload it again."
    ),
    "too_large": (
        "This video's picture ({width}x{height}) is larger than we accept. "
        "Export it at 1080p or 4K and upload it again."
    ),
    "too_small": "This video's picture ({width}x{height}) is too narrow to show.",
    "frame_rate": (
        "This video is {rate} frames per second; Practika takes up to {limit}. "
        "Export it at 30 or 60 frames per second and upload it again."
    ),
    "pixel_rate": (
        "This video is {width}x{height} at {rate} frames per second, more than we can "
        "process; at that size we take up to {limit} frames per second. "
        "Export it at a lower frame rate or size and upload it again."
    ),
    "too_long": "This video is longer than {limit}.",
    "no_duration": "We could not tell how long this video is; the file may be damaged.",
    "damaged": "This video is damaged or incomplete. Try uploading it again.",
    # A voice comment: sound only, in the containers a browser records into.
    "not_sound": (
        "This file is not a recording we can read. Record it again, or choose an M4A or "
        "WebM recording."
    ),
    "no_sound": "This recording has no sound.",
    "sound_codec": (
        "This recording's sound is encoded as {codec}, which we cannot play. "
        "Record it again here, or choose an M4A recording."
    ),
    "voice_too_long": "This voice comment is longer than {limit}. Record a shorter one.",
    "sound_damaged": "This recording is damaged or incomplete. Record it again.",
}


class MediaRejected(Exception):
    """The file is not a video Practika accepts; ``reason`` says why in plain words."""

    def __init__(self, code: str, **details: object) -> None:
        self.code = code
        self.reason = REASONS[code].format(**details)
        super().__init__(self.reason)


def spoken_duration(seconds: float) -> str:
    """``600`` -> ``10 minutes``, ``90`` -> ``90 seconds``: how a limit reads in a reason."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    whole = int(seconds) if float(seconds).is_integer() else seconds
    return f"{whole} second{'s' if whole != 1 else ''}"
