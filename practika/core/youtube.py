"""YouTube links: accepted only for YouTube's own hosts and a well-formed video id, stored in
one canonical form, and embedded from youtube-nocookie.com (the one frame the CSP allows)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# The one origin the Content-Security-Policy lets a frame come from (practika/security.py).
EMBED_ORIGIN = "https://www.youtube-nocookie.com"
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
WATCH_HOSTS = {
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "music.youtube.com",
    "youtube-nocookie.com",
    "www.youtube-nocookie.com",
}
SHORT_HOSTS = {"youtu.be"}
PATH_FORMS = ("/embed/", "/shorts/", "/live/", "/v/")


class NotYouTube(ValueError):
    def __init__(self) -> None:
        super().__init__(
            "That is not a YouTube video link. Paste a link like "
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ or https://youtu.be/dQw4w9WgXcQ."
        )


def youtube_id(url: str) -> str:
    """The video id in a YouTube link, or NotYouTube."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise NotYouTube() from None
    if parts.scheme not in ("http", "https") or parts.username or parts.password or port:
        raise NotYouTube()
    candidate = ""
    if host in SHORT_HOSTS:
        candidate = parts.path.strip("/")
    elif host in WATCH_HOSTS:
        if parts.path == "/watch":
            candidate = parse_qs(parts.query).get("v", [""])[0]
        else:
            prefix = next((p for p in PATH_FORMS if parts.path.startswith(p)), None)
            candidate = parts.path.removeprefix(prefix).strip("/") if prefix else ""
    if not VIDEO_ID.match(candidate):
        raise NotYouTube()
    return candidate


def canonical_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def embed_url(video_id: str) -> str:
    return f"{EMBED_ORIGIN}/embed/{video_id}"
