"""The password rule: one home for the sign-up and reset forms, the change-password page and
the admin's CLI, so no door takes a password another refuses."""

from __future__ import annotations

from collections.abc import Iterable

MIN_LENGTH = 10
RULE = f"At least {MIN_LENGTH} characters, and not your username or email."


def password_problem(password: str, *, personal: Iterable[str | None] = ()) -> str | None:
    """What is wrong with ``password`` in words for its owner, or None. ``personal``: the
    username and email, which a password may not contain."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(set(password)) < 4:
        return "Use more than a few different characters."
    for other in (value.split("@")[0].lower() for value in personal if value):
        if len(other) >= 3 and other in password.lower():
            return "Do not use your username or email in your password."
    return None
