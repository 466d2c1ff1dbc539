"""Signed, expiring, single-purpose links (email verification, password reset).

Each token is signed with the app's secret and a salt per purpose, so a verification link
is no reset link. Each also carries a fingerprint of the state it changes: the email being
verified, or the password hash being replaced. Once that state has changed the token no
longer matches, so a link works once.
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


MAX_AGE = {Purpose.VERIFY_EMAIL: 3 * 24 * 3600, Purpose.RESET_PASSWORD: 3600}


class TokenError(ValueError):
    """The link cannot be used; the message says why, in words for the person."""


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"practika-{purpose}")


def _fingerprint(user: User, purpose: Purpose) -> str:
    state = user.email if purpose == Purpose.VERIFY_EMAIL else user.password_hash
    return hashlib.sha256(f"{purpose}:{state}".encode()).hexdigest()[:16]


def make_token(user: User, purpose: Purpose) -> str:
    return _serializer(purpose).dumps({"user": user.id, "state": _fingerprint(user, purpose)})


def read_token(token: str, purpose: Purpose) -> User:
    """The user a valid, unexpired, unused token of this purpose is for."""
    try:
        data = _serializer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError("This link has expired. Ask for a new one.") from None
    except BadSignature:
        raise TokenError("This link is not valid. Check that you copied all of it.") from None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("state") != _fingerprint(user, purpose):
        raise TokenError("This link has already been used or is no longer valid.")
    return user
