"""A join link opened before its person could join (logged out, no account yet, no role):
the code waits in the session through sign-up, confirmation, login and the role choice,
and the first of those pages that ends sends them on to join."""

from flask import session, url_for

KEY = "join_code"


def remember(code: str) -> None:
    session[KEY] = code


def waiting() -> bool:
    """A join link is waiting: in an invitation-only beta, a class's code invites too."""
    return bool(session.get(KEY))


def next_page(default: str) -> str:
    """Where to go now: the waiting join link, once, or ``default``."""
    code = session.pop(KEY, None)
    return url_for("classes.join_link", code=code) if code else default
