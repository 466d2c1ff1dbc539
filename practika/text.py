"""Plain text that people typed, shown as HTML safely."""

import re

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
