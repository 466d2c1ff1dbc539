"""Signed, expiring, single-purpose links (email verification, password reset, email change).

Each token is signed with the app's secret and a salt per purpose, so a verification link
is no reset link. Each also carries a fingerprint of the state it changes: the email being
verified or replaced, or the password hash being replaced. Once that state has changed the
token no longer matches, so a link works once. An email change also carries the new address.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from practika.accounts.models import User
from practika.extensions import db


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"  # noqa: S105 - a purpose, not a password
    CHANGE_EMAIL = "change-email"


MAX_AGE = {
    Purpose.VERIFY_EMAIL: 3 * 24 * 3600,
    Purpose.RESET_PASSWORD: 3600,
    Purpose.CHANGE_EMAIL: 24 * 3600,
}


class TokenError(ValueError):
    """The link cannot be used; the message says why, in words for the person."""


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"practika-{purpose}")


def _fingerprint(user: User, purpose: Purpose) -> str:
    state = user.password_hash if purpose == Purpose.RESET_PASSWORD else user.email
    return hashlib.sha256(f"{purpose}:{state}".encode()).hexdigest()[:16]


def make_token(user: User, purpose: Purpose, *, email: str | None = None) -> str:
    payload = {"user": user.id, "state": _fingerprint(user, purpose)}
    return _serializer(purpose).dumps(payload | ({"email": email} if email else {}))


def _read(token: str, purpose: Purpose) -> tuple[User, dict]:
    try:
        data = _serializer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError("This link has expired. Ask for a new one.") from None
    except BadSignature:
        raise TokenError("This link is not valid. Check that you copied all of it.") from None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("state") != _fingerprint(user, purpose):
        raise TokenError("This link has already been used or is no longer valid.")
    return user, data


def read_token(token: str, purpose: Purpose) -> User:
    """The user a valid, unexpired, unused token of this purpose is for."""
    return _read(token, purpose)[0]


def read_email_change(token: str) -> tuple[User, str]:
    """The user an email-change link is for, and the new address it confirms."""
    user, data = _read(token, Purpose.CHANGE_EMAIL)
    return user, data["email"]
