"""Plain text that people typed: shown as HTML safely, and names kept to one line."""

import re
import unicodedata

from markupsafe import Markup, escape

# http(s) links up to whitespace or a character that usually ends a sentence around them.
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def linkify(text: str | None) -> Markup:
    """Escape everything, then make http(s) links clickable (opened without a referrer, and
    never followed by search engines). Line breaks are kept by the page's CSS."""
    escaped = str(escape(text or ""))
    return Markup(  # noqa: S704 - built only from escaped text and our own tags
        LINK.sub(
            lambda m: (
                f'<a href="{m.group(0)}" rel="nofollow noopener noreferrer" '
                f'target="_blank">{m.group(0)}</a>'
            ),
            escaped,
        )
    )


def clock(seconds: float | None) -> str:
    """A moment in a video as people read it: 0:07, 1:05, 1:02:03."""
    whole = int(seconds or 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def moment(seconds: float | None) -> str:
    """The moment a comment is pinned to, to the tenth of a second it is stamped at (feedback
    on a 2 s move at 0:01 says little): 0:01.6, 1:05.0."""
    tenths = round((seconds or 0) * 10)
    return f"{clock(tenths // 10)}.{tenths % 10}"


def single_line(text: str | None) -> str | None:
    """A name or title as one line: every run of whitespace (line breaks and tabs included)
    becomes one space, other control characters go, the ends are trimmed. Such text goes
    into mail subjects, headers and logs, where a line break would end a header (or forge
    one) and make sending fail after the thing it tells about was saved."""
    if text is None:
        return None
    printable = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")
    return " ".join(printable.split())
