"""Issuing, checking and revoking personal API tokens.

A token is ``pk_`` and 43 random URL-safe characters, shown once when made; only its SHA-256
is stored, so a leaked database holds no usable token. Checking a bearer token is one
indexed lookup by that hash; its last use is written at most once a minute.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import request

from practika.accounts.models import ApiToken, User
from practika.extensions import db
from practika.model_base import utcnow
from practika.stamps import record_quietly

PREFIX = "pk_"
LAST_USED_EVERY = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str, days: int | None) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its secret (the caller commits, then shows it once)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip()[:100] or "API token",
        token_hash=_digest(raw),
        prefix=raw[:10],
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    db.session.add(token)
    return token, raw


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    db.session.commit()


def revoke_all_tokens(user: User) -> None:
    """Revoke every token of ``user`` (in the caller's transaction)."""
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def bearer_token() -> str:
    """The token a request sends as ``Authorization: Bearer <token>``; empty if none."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def user_for(raw: str) -> tuple[User, ApiToken] | None:
    """The active user an unexpired, unrevoked token belongs to; None for anything else."""
    if not raw.startswith(PREFIX):
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.state != "active" or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        record_quietly(
            sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now),
            "an API token's last use",
        )
    return token.user, token


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )
